/**
 * manifest.yml and manifest.socket-mode.yml: valid for Slack's manifest schema, the scopes the code needs
 * (every Slack Web API method src/ calls, by any receiver, mapped to its scopes) and no more, optional
 * scopes marked as such, events covered by scopes, and the two variants identical except for how Slack
 * reaches the bot.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { allowedValues, loadManifestSchema, validateManifest } from './slack-manifest-schema.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const schema = loadManifestSchema();

type Rec = Record<string, unknown>;
const rec = (value: unknown): Rec => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Rec) : {});
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

function readManifest(name: string): Rec {
  return rec(load(readFileSync(join(ROOT, name), 'utf8')));
}

const http = readManifest('manifest.yml');
const socket = readManifest('manifest.socket-mode.yml');

/** Bot scopes each Slack Web API method needs (docs.slack.dev method pages). */
const METHOD_SCOPES: Record<string, string[]> = {
  'usergroups.users.list': ['usergroups:read'],
  'usergroups.list': ['usergroups:read'],
  'chat.postMessage': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.delete': ['chat:write'],
  'chat.getPermalink': [],
  'conversations.open': ['im:write'],
  'users.info': ['users:read'],
  'users.lookupByEmail': ['users:read.email'],
  'users.profile.get': ['users.profile:read'],
  'views.open': [],
  'views.push': [],
  'views.update': [],
  'views.publish': [],
  'auth.test': [],
};

/** Bot scopes each subscribed event needs (docs.slack.dev event pages). */
const EVENT_SCOPES: Record<string, string[]> = {
  app_home_opened: [],
};

/**
 * Scopes for what the code reads in a method's answer, beyond the method's own scopes: in a file calling
 * `method`, source matching `reads` needs `scopes`.
 */
const FIELD_SCOPES: { method: string; reads: RegExp; scopes: string[] }[] = [
  // users.info answers profile.email only with users:read.email.
  { method: 'users.info', reads: /\bprofile\??\.email\b/, scopes: ['users:read.email'] },
];

/** Scopes needed by what src/ registers rather than by a Web API call. */
const REGISTRATION_SCOPES = { command: ['commands'] };

/**
 * Scopes only an optional feature needs, with the variable that turns it on: the manifests ask for them
 * (so the feature works once configured) and say on the scope's line that it is optional and for what.
 */
const OPTIONAL_SCOPES: Record<string, string> = {
  'usergroups:read': 'ADMIN_SLACK_USERGROUP',
};

/** Requested ahead of the code that uses them, each with its reason. None at the moment. */
const PLANNED_SCOPES: Record<string, string> = {};
const PLANNED_EVENTS: Record<string, string> = {};

/** Scopes that must stay out: they would let the bot post where nobody invited it, or read messages. */
const FORBIDDEN_SCOPES = ['chat:write.public', 'channels:history', 'groups:history', 'im:history', 'mpim:history', 'chat:write.customize'];

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every Web API method of the installed @slack/web-api (each is bound by name in its methods.js). */
function slackWebApiMethods(): Set<string> {
  const require = createRequire(import.meta.url);
  const methods = join(dirname(require.resolve('@slack/web-api/package.json')), 'dist/methods.js');
  return new Set([...readFileSync(methods, 'utf8').matchAll(/bindApiCall\w*\(this, '([\w.]+)'\)/g)].map((m) => m[1]!));
}
const SLACK_METHODS = slackWebApiMethods();

/**
 * The Slack Web API methods a source text calls, whatever the receiver is named (`client.chat.update(`,
 * `slack.usergroups.users.list(`, `app.client.views.publish(`, `deps.web?.users.info(`), plus `apiCall('…')`:
 * a call chain counts when one of its tails is a method of @slack/web-api.
 */
function slackMethodsIn(text: string): Set<string> {
  const found = new Set<string>();
  for (const match of text.matchAll(/\b[A-Za-z_$][\w$]*(?:\??\.[A-Za-z_$][\w$]*)+(?=\s*(?:<[^>()]*>)?\s*\()/g)) {
    const parts = match[0].replaceAll('?.', '.').split('.');
    for (let start = 0; start < parts.length - 1; start++) {
      const tail = parts.slice(start).join('.');
      if (SLACK_METHODS.has(tail)) {
        found.add(tail);
        break;
      }
    }
  }
  for (const match of text.matchAll(/\.apiCall\(\s*['"]([\w.]+)['"]/g)) found.add(match[1]!);
  return found;
}

const sources = new Map(sourceFiles(join(ROOT, 'src')).map((path) => [relative(ROOT, path), readFileSync(path, 'utf8')]));
const source = [...sources.values()].join('\n');
/** method → the files calling it. */
const callers = new Map<string, string[]>();
for (const [file, text] of sources) {
  for (const method of slackMethodsIn(text)) callers.set(method, [...(callers.get(method) ?? []), file]);
}
const methodsCalled = new Set(callers.keys());
const fieldScopes = FIELD_SCOPES.filter((rule) =>
  (callers.get(rule.method) ?? []).some((file) => rule.reads.test(sources.get(file) ?? '')),
);
const eventsHandled = new Set([...source.matchAll(/\.event\(\s*['"](\w+)['"]/g)].map((m) => m[1]!));
const commandsRegistered = new Set([...source.matchAll(/\.command\(\s*['"](\/[\w-]+)['"]/g)].map((m) => m[1]!));
const hasInteractivity = /\.(action|view|shortcut|options)\s*[<(]/.test(source);

describe.each([
  ['manifest.yml', http],
  ['manifest.socket-mode.yml', socket],
] as const)('%s', (name, manifest) => {
  const features = rec(manifest.features);
  const settings = rec(manifest.settings);
  const scopes = strings(rec(rec(manifest.oauth_config).scopes).bot);
  const events = strings(rec(settings.event_subscriptions).bot_events);

  it("is valid for Slack's manifest schema (keys, types, names, limits)", () => {
    expect(validateManifest(manifest, schema)).toEqual([]);
  });

  it('respects the limits Slack states outside the types', () => {
    const display = rec(manifest.display_information);
    expect(String(display.name).length).toBeLessThanOrEqual(35);
    expect(String(display.description).length).toBeLessThanOrEqual(140);
    expect(String(display.background_color)).toMatch(/^#([0-9a-f]{3}|[0-9a-f]{6})$/i);
    expect(String(rec(features.bot_user).display_name)).toMatch(/^[a-z0-9._-]{1,80}$/);
    for (const command of (features.slash_commands as Rec[] | undefined) ?? []) {
      expect(String(command.command)).toMatch(/^\/[a-z0-9_-]{1,31}$/);
    }
  });

  it('offers /vteam with a description and a usage hint naming only real sub-commands', () => {
    const commands = (features.slash_commands as Rec[] | undefined) ?? [];
    expect(new Set(commands.map((c) => String(c.command)))).toEqual(commandsRegistered);
    const vteam = commands.find((c) => c.command === '/vteam');
    expect(String(vteam?.description)).not.toBe('');
    const hint = String(vteam?.usage_hint);
    const subcommands = hint.split('|').map((part) => part.trim().split(/\s+/)[0]);
    // PRODUCT.md §1: the sub-commands of /vteam.
    const known = ['publish', 'jira-status', 'connect', 'disconnect', 'subscribe', 'unsubscribe', 'list', 'jira-config', 'help'];
    expect(subcommands.filter((s) => !known.includes(String(s)))).toEqual([]);
    expect(subcommands).toEqual(expect.arrayContaining(['publish', 'help']));
    expect(vteam?.should_escape).toBe(false);
  });

  it('enables interactivity for the buttons, and App Home for the Home tab and DMs', () => {
    expect(hasInteractivity).toBe(true);
    expect(rec(settings.interactivity).is_enabled).toBe(true);
    expect(rec(features.app_home)).toMatchObject({ home_tab_enabled: true, messages_tab_enabled: true });
    expect(features.bot_user).toBeDefined();
    expect(settings.org_deploy_enabled).toBe(false);
    expect(settings.token_rotation_enabled).toBe(false);
  });

  it('asks for exactly the bot scopes the code needs (used now, or planned with a reason), no user scopes', () => {
    const unknownMethods = [...methodsCalled].filter((method) => !(method in METHOD_SCOPES));
    expect(unknownMethods, 'add these Slack methods and their scopes to METHOD_SCOPES').toEqual([]);
    const needed = new Set([
      ...[...methodsCalled].flatMap((method) => METHOD_SCOPES[method] ?? []),
      ...fieldScopes.flatMap((rule) => rule.scopes),
      ...[...eventsHandled].flatMap((event) => EVENT_SCOPES[event] ?? []),
      ...(commandsRegistered.size > 0 ? REGISTRATION_SCOPES.command : []),
      ...Object.keys(PLANNED_SCOPES),
    ]);
    expect([...scopes].sort()).toEqual([...needed].sort());
    const botScopes = allowedValues(schema, 'BotScope');
    for (const scope of scopes) expect(botScopes.has(scope), scope).toBe(true);
    for (const scope of FORBIDDEN_SCOPES) expect(scopes).not.toContain(scope);
    const oauthScopes = rec(rec(manifest.oauth_config).scopes);
    expect(Object.keys(oauthScopes)).toEqual(['bot']);
  });

  it('grants each scope a method src/ calls needs, naming the method and where it is called', () => {
    for (const method of methodsCalled) {
      for (const scope of METHOD_SCOPES[method] ?? []) {
        expect(scopes, `${method} (called in ${callers.get(method)?.join(', ')}) needs ${scope}`).toContain(scope);
      }
    }
    for (const rule of fieldScopes) for (const scope of rule.scopes) expect(scopes, `${rule.method} ${rule.reads}`).toContain(scope);
  });

  it('marks each optional scope as optional on its line, naming the variable that needs it', () => {
    const text = readFileSync(join(ROOT, name), 'utf8');
    for (const [scope, variable] of Object.entries(OPTIONAL_SCOPES)) {
      if (!scopes.includes(scope)) continue;
      const line = text.split('\n').find((l) => new RegExp(`^\\s*-\\s*${scope.replace(/[.:]/g, '\\$&')}\\s*(#|$)`).test(l)) ?? '';
      expect(line, `${name}: the line of ${scope}`).toMatch(/#.*\boptional\b/i);
      expect(line, `${name}: the line of ${scope}`).toContain(variable);
      // The variable is one the app reads.
      expect(source, `src/ should read ${variable}`).toContain(variable);
    }
  });

  it('subscribes to the events the code handles (or will, with a reason), each covered by the scopes', () => {
    for (const event of eventsHandled) expect(events, `src/ handles ${event}`).toContain(event);
    for (const event of events) {
      expect(eventsHandled.has(event) || event in PLANNED_EVENTS, `${event} is neither handled nor planned`).toBe(true);
      expect(event in EVENT_SCOPES, `add ${event} to EVENT_SCOPES`).toBe(true);
      for (const scope of EVENT_SCOPES[event] ?? []) expect(scopes, `${event} needs ${scope}`).toContain(scope);
    }
    expect(strings(rec(settings.event_subscriptions).user_events)).toEqual([]);
  });
});

describe('the two manifest variants', () => {
  it("HTTP mode sends commands, events and interactivity to Bolt's one endpoint on a marked placeholder host", () => {
    const settings = rec(http.settings);
    expect(settings.socket_mode_enabled).toBe(false);
    const urls = [
      ...((rec(http.features).slash_commands as Rec[] | undefined) ?? []).map((c) => c.url),
      rec(settings.event_subscriptions).request_url,
      rec(settings.interactivity).request_url,
    ];
    for (const url of urls) expect(url).toBe('https://HOST/slack/events');
    expect(readFileSync(join(ROOT, 'manifest.yml'), 'utf8')).toMatch(/REPLACE every `https:\/\/HOST`/);
  });

  it('Socket Mode has no request URL at all', () => {
    expect(rec(socket.settings).socket_mode_enabled).toBe(true);
    expect(JSON.stringify(socket)).not.toMatch(/https?:\/\/|"url"|request_url/);
  });

  it('are the same app apart from that', () => {
    const withoutTransport = (manifest: Rec): Rec => {
      const copy = structuredClone(manifest);
      const settings = rec(copy.settings);
      delete settings.socket_mode_enabled;
      delete rec(settings.event_subscriptions).request_url;
      delete rec(settings.interactivity).request_url;
      for (const command of (rec(copy.features).slash_commands as Rec[] | undefined) ?? []) delete command.url;
      return copy;
    };
    expect(withoutTransport(socket)).toEqual(withoutTransport(http));
  });
});

describe('the schema check itself', () => {
  it('catches unknown keys, missing required keys, bad names and exceeded limits', () => {
    const broken = structuredClone(http);
    const display = rec(broken.display_information);
    display.name = 'x'.repeat(36);
    display.colour = '#fff';
    const features = rec(broken.features);
    delete rec(features.bot_user).display_name;
    rec(rec(broken.oauth_config).scopes).bot = ['chat:write', 'chat:write.everywhere'];
    rec(rec(broken.settings).event_subscriptions).bot_events = ['app_home_opened', 'home_opened'];
    rec(broken.settings).interactivity = { request_url: 'https://HOST/slack/events' };
    features.shortcuts = Array.from({ length: 11 }, (_, i) => ({ type: 'global', name: `s${i}`, callback_id: `s${i}`, description: 'd' }));
    const problems = validateManifest(broken, schema);
    expect(problems).toEqual(
      expect.arrayContaining([
        'manifest.display_information.name: 36 characters, at most 35',
        'manifest.display_information.colour: not a key Slack accepts here',
        'manifest.features.bot_user.display_name: required',
        'manifest.oauth_config.scopes.bot[1]: "chat:write.everywhere" is not one of Slack\'s values',
        'manifest.settings.event_subscriptions.bot_events[1]: "home_opened" is not one of Slack\'s values',
        'manifest.settings.interactivity.is_enabled: required',
        'manifest.features.shortcuts: 11 entries, at most 10',
      ]),
    );
    expect(problems).toHaveLength(7);
  });
});

describe('the Slack method scan itself', () => {
  it('finds Web API calls through any receiver and ignores look-alikes', () => {
    const found = slackMethodsIn(
      [
        'await slack.usergroups.users.list({ usergroup });',
        'await app.client.chat.postMessage({ channel, text });',
        'await deps.web?.users.info({ user });',
        'await client.views.publish<X>({ user_id });',
        "await client.apiCall('bookmarks.add', {});",
        'options.oauth.refresh(token); p.channels.slice(0); deps.admin.mayEdit(user); logger.info("users.info");',
      ].join('\n'),
    );
    expect([...found].sort()).toEqual(['bookmarks.add', 'chat.postMessage', 'usergroups.users.list', 'users.info', 'views.publish']);
  });

  it('knows every method src/ calls, and plans only scopes and events the code does not already need', () => {
    expect(SLACK_METHODS.size).toBeGreaterThan(200);
    expect(methodsCalled).toContain('usergroups.users.list');
    expect(methodsCalled).toContain('users.info');
    const fromCode = new Set([...methodsCalled].flatMap((method) => METHOD_SCOPES[method] ?? []));
    expect(Object.keys(PLANNED_SCOPES).filter((scope) => fromCode.has(scope))).toEqual([]);
    expect(Object.keys(PLANNED_EVENTS).filter((event) => eventsHandled.has(event))).toEqual([]);
  });
});
