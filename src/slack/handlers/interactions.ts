/**
 * What every interaction handler (button, overflow menu, modal) reads first from Slack's payload: who
 * acted, and, for a modal submission, the form's metadata and values.
 */
import type { SlackViewMiddlewareArgs, ViewOutput, ViewSubmitAction } from '@slack/bolt';
import type { ModalView } from '@slack/types';
import type { Logger } from 'pino';
import type { SlackUserRef } from '../../publishing/model.ts';

/** The parts of a block action or view submission that say who acted. */
export interface InteractionBody {
  user: { id: string; team_id?: string | undefined };
  team: { id: string } | null;
  enterprise?: { id: string } | null | undefined;
}

/** Who clicked: their own workspace, else the payload's; undefined when Slack named neither. */
export function slackUserOf(body: InteractionBody): SlackUserRef | undefined {
  const teamId = body.user.team_id ?? body.team?.id;
  return teamId ? userRef(body, teamId) : undefined;
}

/** Who acted in a modal: as `slackUserOf`, with the view's own workspace as the last resort. */
export function modalUserOf(body: InteractionBody, view: Pick<ViewOutput, 'team_id'>): SlackUserRef {
  return userRef(body, body.user.team_id ?? body.team?.id ?? view.team_id);
}

function userRef(body: InteractionBody, teamId: string): SlackUserRef {
  return { teamId, enterpriseId: body.enterprise?.id ?? undefined, userId: body.user.id };
}

export interface SubmissionRules<M, F extends { ok: true }> {
  /** private_metadata back to what the modal was opened for; undefined when malformed. */
  decode: (privateMetadata: string) => M | undefined;
  /** The form read and checked; `errors` are shown beside their blocks. */
  validate: (values: ViewOutput['state']['values']) => F | { ok: false; errors: Record<string, string> };
  /** What replaces the modal when its metadata cannot be read, and the warning logged then. */
  stale: { view: () => ModalView; log: string };
  logger?: Logger | undefined;
}

/**
 * The start every modal submission shares: unreadable metadata replaces the modal with `stale.view`,
 * an invalid form shows its errors; both are acknowledged here, and the result is undefined. Otherwise
 * nothing is acknowledged yet (the caller acks, at once or after quick work) and the submission comes back.
 */
export async function readSubmission<M, F extends { ok: true }>(
  { ack, body, view }: Pick<SlackViewMiddlewareArgs<ViewSubmitAction>, 'ack' | 'body' | 'view'>,
  rules: SubmissionRules<M, F>,
): Promise<{ metadata: M; form: F; user: SlackUserRef } | undefined> {
  const metadata = rules.decode(view.private_metadata);
  if (!metadata) {
    rules.logger?.warn({ user: body.user.id }, rules.stale.log);
    await ack({ response_action: 'update', view: rules.stale.view() });
    return undefined;
  }
  const form = rules.validate(view.state.values);
  if (!form.ok) {
    await ack({ response_action: 'errors', errors: form.errors });
    return undefined;
  }
  return { metadata, form, user: modalUserOf(body, view) };
}

/**
 * A modal whose content needs slow work (the cluster, Jira): `first` (a loading view) is opened on
 * the trigger_id at once, since it expires 3 s after the click, then replaced by `next()`. False when
 * the modal could not be opened (the caller tells the user another way). Without `next`, `first` stays.
 */
export async function openThenShow(
  client: { views: { open: ViewsOpen; update: ViewsUpdate } },
  triggerId: string,
  first: ModalView,
  next: (() => Promise<ModalView>) | undefined,
  log: { logger: Logger; what: string },
): Promise<boolean> {
  let opened: { view?: { id?: string; hash?: string } };
  try {
    opened = await client.views.open({ trigger_id: triggerId, view: first });
  } catch (error) {
    log.logger.warn({ err: error }, `could not open the ${log.what} modal`);
    return false;
  }
  const viewId = opened.view?.id;
  if (!next || !viewId) return true;
  const view = await next();
  await client.views
    .update({ view_id: viewId, ...(opened.view?.hash ? { hash: opened.view.hash } : {}), view })
    .catch((error: unknown) =>
      log.logger.info({ err: error }, `could not show the ${log.what} form (the modal changed or closed meanwhile)`),
    );
  return true;
}

type ViewsOpen = (args: { trigger_id: string; view: ModalView }) => Promise<{ view?: { id?: string; hash?: string } }>;
type ViewsUpdate = (args: { view_id: string; hash?: string; view: ModalView }) => Promise<unknown>;
