/**
 * Slack's Block Kit limits, written down from Slack's reference (not imported from the code under
 * test), and a checker that lists every place a payload breaks one. Slack refuses a whole message or
 * view (invalid_blocks) for one field over its limit, so one hostile value could hide a card.
 */

type Node = Record<string, unknown>;

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

export const LIMITS = {
  messageText: 4000,
  messageBlocks: 50,
  viewBlocks: 100,
  textObject: 3000,
  sectionFields: 10,
  sectionField: 2000,
  header: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  url: 3000,
  actionId: 255,
  blockId: 255,
  accessibilityLabel: 75,
  optionText: 75,
  optionValue: 150,
  overflowOptions: [2, 5],
  selectOptions: 100,
  placeholder: 150,
  inputLabel: 2000,
  inputHint: 2000,
  plainTextInput: 3000,
  viewTitle: 24,
  viewButton: 24,
  privateMetadata: 3000,
  callbackId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
} as const;

export function messageViolations(message: unknown): string[] {
  const out: string[] = [];
  if (!isNode(message)) return ['message: not an object'];
  textLength(message.text, LIMITS.messageText, 'message.text', out);
  if (message.blocks !== undefined) blocksViolations(list(message.blocks), LIMITS.messageBlocks, 'message', out);
  surrogates(message, out);
  return out;
}

export function viewViolations(view: unknown): string[] {
  const out: string[] = [];
  if (!isNode(view)) return ['view: not an object'];
  blocksViolations(list(view.blocks), LIMITS.viewBlocks, 'view', out);
  if (view.type === 'modal') {
    textObject(view.title, LIMITS.viewTitle, 'view.title', out, true);
    for (const key of ['close', 'submit'] as const)
      if (view[key] !== undefined) textObject(view[key], LIMITS.viewButton, `view.${key}`, out, true);
    max(view.private_metadata, LIMITS.privateMetadata, 'view.private_metadata', out);
    max(view.callback_id, LIMITS.callbackId, 'view.callback_id', out);
  }
  surrogates(view, out);
  return out;
}

export function blocksViolations(blocks: unknown[], maxBlocks: number, where: string, out: string[] = []): string[] {
  if (blocks.length > maxBlocks) out.push(`${where}: ${blocks.length} blocks > ${maxBlocks}`);
  blocks.forEach((block, i) => blockViolations(block, `${where}.blocks[${i}]`, out));
  return out;
}

export function blockViolations(block: unknown, where: string, out: string[] = []): string[] {
  if (!isNode(block)) return [...out, `${where}: not an object`];
  max(block.block_id, LIMITS.blockId, `${where}.block_id`, out);
  switch (block.type) {
    case 'section': {
      if (block.text === undefined && block.fields === undefined) out.push(`${where}: section without text or fields`);
      if (block.text !== undefined) textObject(block.text, LIMITS.textObject, `${where}.text`, out);
      const fields = list(block.fields);
      if (fields.length > LIMITS.sectionFields) out.push(`${where}: ${fields.length} fields`);
      fields.forEach((f, i) => textObject(f, LIMITS.sectionField, `${where}.fields[${i}]`, out));
      if (block.accessory !== undefined) elementViolations(block.accessory, `${where}.accessory`, out);
      break;
    }
    case 'header':
      textObject(block.text, LIMITS.header, `${where}.text`, out, true);
      break;
    case 'context': {
      const elements = list(block.elements);
      if (elements.length < 1 || elements.length > LIMITS.contextElements) out.push(`${where}: ${elements.length} context elements`);
      elements.forEach((e, i) => textObject(e, LIMITS.textObject, `${where}.elements[${i}]`, out));
      break;
    }
    case 'actions': {
      const elements = list(block.elements);
      if (elements.length < 1 || elements.length > LIMITS.actionsElements) out.push(`${where}: ${elements.length} actions`);
      elements.forEach((e, i) => elementViolations(e, `${where}.elements[${i}]`, out));
      break;
    }
    case 'input':
      textObject(block.label, LIMITS.inputLabel, `${where}.label`, out, true);
      if (block.hint !== undefined) textObject(block.hint, LIMITS.inputHint, `${where}.hint`, out, true);
      elementViolations(block.element, `${where}.element`, out);
      break;
    case 'divider':
      break;
    default:
      out.push(`${where}: block type ${String(block.type)} not checked here; add its limits`);
  }
  return out;
}

export function elementViolations(element: unknown, where: string, out: string[] = []): string[] {
  if (!isNode(element)) return [...out, `${where}: not an object`];
  max(element.action_id, LIMITS.actionId, `${where}.action_id`, out);
  switch (element.type) {
    case 'button':
      textObject(element.text, LIMITS.buttonText, `${where}.text`, out, true);
      max(element.value, LIMITS.buttonValue, `${where}.value`, out);
      max(element.url, LIMITS.url, `${where}.url`, out);
      max(element.accessibility_label, LIMITS.accessibilityLabel, `${where}.accessibility_label`, out);
      if (element.confirm !== undefined) confirmViolations(element.confirm, `${where}.confirm`, out);
      break;
    case 'overflow': {
      const options = list(element.options);
      const [least, most] = LIMITS.overflowOptions;
      if (options.length < least || options.length > most) out.push(`${where}: ${options.length} overflow options`);
      options.forEach((o, i) => optionViolations(o, `${where}.options[${i}]`, out));
      break;
    }
    case 'static_select': {
      const options = list(element.options);
      if (options.length < 1 || options.length > LIMITS.selectOptions) out.push(`${where}: ${options.length} select options`);
      options.forEach((o, i) => optionViolations(o, `${where}.options[${i}]`, out));
      if (element.placeholder !== undefined) textObject(element.placeholder, LIMITS.placeholder, `${where}.placeholder`, out, true);
      if (element.initial_option !== undefined && !options.some((o) => JSON.stringify(o) === JSON.stringify(element.initial_option))) {
        out.push(`${where}: initial_option is not one of the options`);
      }
      break;
    }
    case 'plain_text_input': {
      const limit = typeof element.max_length === 'number' ? element.max_length : LIMITS.plainTextInput;
      if (limit > LIMITS.plainTextInput) out.push(`${where}: max_length ${limit}`);
      max(element.initial_value, limit, `${where}.initial_value`, out);
      if (element.placeholder !== undefined) textObject(element.placeholder, LIMITS.placeholder, `${where}.placeholder`, out, true);
      break;
    }
    default:
      out.push(`${where}: element type ${String(element.type)} not checked here; add its limits`);
  }
  return out;
}

function optionViolations(option: unknown, where: string, out: string[]): void {
  if (!isNode(option)) return void out.push(`${where}: not an object`);
  textObject(option.text, LIMITS.optionText, `${where}.text`, out, true);
  max(option.value, LIMITS.optionValue, `${where}.value`, out);
}

function confirmViolations(confirm: unknown, where: string, out: string[]): void {
  if (!isNode(confirm)) return void out.push(`${where}: not an object`);
  textObject(confirm.title, LIMITS.confirmTitle, `${where}.title`, out, true);
  textObject(confirm.text, LIMITS.confirmText, `${where}.text`, out);
  textObject(confirm.confirm, LIMITS.confirmButton, `${where}.confirm`, out, true);
  textObject(confirm.deny, LIMITS.confirmButton, `${where}.deny`, out, true);
}

function textObject(value: unknown, limit: number, where: string, out: string[], plainOnly = false): void {
  if (!isNode(value)) return void out.push(`${where}: not a text object`);
  if (value.type !== 'plain_text' && (plainOnly || value.type !== 'mrkdwn')) out.push(`${where}: type ${String(value.type)}`);
  textLength(value.text, limit, where, out);
}

function textLength(value: unknown, limit: number, where: string, out: string[]): void {
  if (typeof value !== 'string' || value.length === 0) return void out.push(`${where}: empty or missing text`);
  if (value.length > limit) out.push(`${where}: ${value.length} characters > ${limit}`);
}

function max(value: unknown, limit: number, where: string, out: string[]): void {
  if (value === undefined) return;
  if (typeof value !== 'string') return void out.push(`${where}: not a string`);
  if (value.length > limit) out.push(`${where}: ${value.length} characters > ${limit}`);
}

const HALF_PAIR = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Half a surrogate pair is not valid UTF-8: Slack would mangle or refuse the text. */
function surrogates(payload: unknown, out: string[]): void {
  JSON.stringify(payload, (key, value: unknown) => {
    if (typeof value === 'string' && HALF_PAIR.test(value)) out.push(`${key}: half a surrogate pair`);
    return value;
  });
}
