/**
 * A loopback Kubernetes API server speaking the real REST wire format for the resources vteam-slack
 * touches: namespaces, secrets, rfeworkflows, projectsettings, leases, subjectaccessreviews and API
 * discovery. Objects carry a global, monotonically increasing resourceVersion; PUTs with a stale one get
 * the API server's 409 Conflict Status; `?watch=true` streams newline-delimited watch events with
 * bookmarks, resumption and 410 Expired. Faults (conflicts, errors, dropped watches) are injectable and
 * every request is counted by verb and resource, so tests can assert "one write per publish".
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { applyJsonPatch, applyMergePatch, PatchError } from './fake-kube/json-patch.ts';
import { parseLabelSelector, type LabelMatcher } from './fake-kube/label-selector.ts';
import {
  apiVersionOf,
  findResource,
  RESOURCES,
  resourceByPlural,
  VTEAM_GROUP,
  VTEAM_VERSION,
  type ResourceDefinition,
  type ResourcePlural,
} from './fake-kube/resources.ts';
import { StatusError, statuses, type KubeStatus } from './fake-kube/status.ts';
import { createStore, type KubeObject, type WatchEventType } from './fake-kube/store.ts';

export type { KubeObject, ObjectMeta } from './fake-kube/store.ts';
export type { ResourcePlural } from './fake-kube/resources.ts';
export type { KubeStatus } from './fake-kube/status.ts';

export type KubeVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  verb: KubeVerb | 'discovery';
  /** Plural, with `/status` for the subresource; e.g. `rfeworkflows`, `rfeworkflows/status`, `subjectaccessreviews`. */
  resource: string;
  namespace?: string | undefined;
  name?: string | undefined;
  contentType?: string | undefined;
  /** HTTP status sent (200 for a watch stream, 0 for an injected connection reset). */
  status: number;
}

export interface RequestMatch {
  verb?: KubeVerb;
  resource?: string;
  namespace?: string;
  name?: string;
}

/** One SubjectAccessReview rule; an omitted field (or '*') matches anything. First match wins; default deny. */
export interface AccessRule {
  user?: string;
  /** Matches when the reviewed user is in any of these groups. */
  groups?: string[];
  namespace?: string;
  verb?: string;
  group?: string;
  resource?: string;
  subresource?: string;
  name?: string;
  allowed: boolean;
  reason?: string;
}

export interface SubjectAccessReviewSpec {
  user?: string;
  groups?: string[];
  uid?: string;
  extra?: Record<string, string[]>;
  resourceAttributes?: {
    namespace?: string;
    verb?: string;
    group?: string;
    version?: string;
    resource?: string;
    subresource?: string;
    name?: string;
  };
  nonResourceAttributes?: { path?: string; verb?: string };
}

export interface FakeKubeOptions {
  /** The one bearer token accepted; default `fake-kube-token`. */
  token?: string;
  /** Watch events kept for resumption; older resourceVersions get 410 Expired. Default 1000. */
  historyLimit?: number;
  /** Interval of BOOKMARK events on watches that allow them; 0 disables the timer. Default 1000 ms. */
  bookmarkIntervalMs?: number;
  accessRules?: AccessRule[];
  /**
   * Who the bearer token authenticates as, for SelfSubjectAccessReviews (reviewed against the same
   * access rules). Default: the bot's ServiceAccount `system:serviceaccount:ambient-code:vteam-slack`.
   */
  selfSubject?: { user: string; groups?: string[] };
}

export interface SeedOptions {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export type FakeKube = Awaited<ReturnType<typeof startFakeKube>>;

interface Route {
  def: ResourceDefinition;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

/**
 * What an injected failure does: answer with that status, reset the connection, never answer
 * ('hang'), or apply the write and then lose the answer ('apply-then-hang': the client cannot tell
 * whether it took effect; 'apply-then-reset': the same with a reset connection).
 */
export type InjectedFailureKind = { status: number; message?: string } | 'reset' | 'hang' | 'apply-then-hang' | 'apply-then-reset';

interface InjectedFailure {
  match: RequestMatch;
  failure: InjectedFailureKind;
  remaining: number;
}

interface InjectedConflict {
  match: RequestMatch;
  mutate: (object: KubeObject, nth: number) => void;
  remaining: number;
}

interface OpenWatch {
  response: ServerResponse;
  def: ResourceDefinition;
  allowBookmarks: boolean;
  close: () => void;
}

export async function startFakeKube(options: FakeKubeOptions = {}) {
  let token = options.token ?? 'fake-kube-token';
  const store = createStore({ historyLimit: options.historyLimit ?? 1000 });
  const requests: RecordedRequest[] = [];
  const accessReviews: SubjectAccessReviewSpec[] = [];
  let accessRules: AccessRule[] = options.accessRules ?? [];
  const selfAccessReviews: SubjectAccessReviewSpec[] = [];
  let selfSubject = options.selfSubject ?? {
    user: 'system:serviceaccount:ambient-code:vteam-slack',
    groups: ['system:serviceaccounts', 'system:authenticated'],
  };
  const failures: InjectedFailure[] = [];
  const conflicts: InjectedConflict[] = [];
  const unserved = new Set<string>();
  const watches = new Set<OpenWatch>();
  let concurrentWrites = 0;
  let hooks: { match: RequestMatch; run: (request: RecordedRequest) => void }[] = [];

  const isServed = (def: ResourceDefinition) => !unserved.has(def.plural);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, statuses.byCode(500, `fake-kube internal error: ${String(error)}`));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-kube');
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? 'GET';
    const entry: RecordedRequest = {
      method,
      path: url.pathname,
      query,
      verb: 'discovery',
      resource: '',
      status: 0,
      contentType: req.headers['content-type'],
    };
    requests.push(entry);
    // Set by an 'apply-then-…' failure: the request is processed, its answer is lost.
    let loseAnswer: 'hang' | 'reset' | undefined;
    const reply = (status: number, body: unknown) => {
      entry.status = status;
      if (loseAnswer === 'reset') req.socket.destroy();
      if (loseAnswer !== undefined) return;
      sendJson(res, status, body);
    };
    const injected = (): boolean => {
      const outcome = injectedFailure(entry, req, res);
      if (outcome === 'apply-then-hang' || outcome === 'apply-then-reset') {
        loseAnswer = outcome === 'apply-then-hang' ? 'hang' : 'reset';
        return false;
      }
      return outcome;
    };

    if (req.headers.authorization !== `Bearer ${token}`) return reply(401, statuses.unauthorized());

    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const discovery = discoveryDocument(segments, `127.0.0.1:${port()}`);
    if (discovery !== undefined && method === 'GET') {
      entry.resource = url.pathname;
      return discovery === null ? reply(404, statuses.pathNotFound()) : reply(200, discovery);
    }

    if (url.pathname === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
      Object.assign(entry, { verb: 'create', resource: 'subjectaccessreviews' });
      if (method !== 'POST') return reply(405, statuses.methodNotAllowed());
      if (injected()) return;
      const body = await readJson(req).catch(() => undefined);
      if (!isObject(body) || !isObject(body.spec)) return reply(400, statuses.badRequest('invalid SubjectAccessReview'));
      const spec = body.spec as SubjectAccessReviewSpec;
      accessReviews.push(structuredClone(spec));
      return reply(201, {
        kind: 'SubjectAccessReview',
        apiVersion: 'authorization.k8s.io/v1',
        metadata: { creationTimestamp: null },
        spec,
        status: review(spec),
      });
    }

    if (url.pathname === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
      Object.assign(entry, { verb: 'create', resource: 'selfsubjectaccessreviews' });
      if (method !== 'POST') return reply(405, statuses.methodNotAllowed());
      if (injected()) return;
      const body = await readJson(req).catch(() => undefined);
      if (!isObject(body) || !isObject(body.spec)) return reply(400, statuses.badRequest('invalid SelfSubjectAccessReview'));
      const spec = body.spec as Pick<SubjectAccessReviewSpec, 'resourceAttributes' | 'nonResourceAttributes'>;
      const reviewed: SubjectAccessReviewSpec = { ...spec, user: selfSubject.user, groups: selfSubject.groups ?? [] };
      selfAccessReviews.push(structuredClone(reviewed));
      return reply(201, {
        kind: 'SelfSubjectAccessReview',
        apiVersion: 'authorization.k8s.io/v1',
        metadata: { creationTimestamp: null },
        spec,
        status: review(reviewed),
      });
    }

    const route = parseRoute(segments);
    if (!route || !isServed(route.def)) return reply(404, statuses.pathNotFound());
    const watching = method === 'GET' && route.name === undefined && (query.watch === 'true' || query.watch === '1');
    const verb = verbOf(method, route, watching);
    Object.assign(entry, {
      verb,
      resource: route.subresource ? `${route.def.plural}/${route.subresource}` : route.def.plural,
      namespace: route.namespace,
      name: route.name,
    });
    if (!verb) return reply(405, statuses.methodNotAllowed());
    if (route.subresource !== undefined && !(route.subresource === 'status' && route.def.statusSubresource))
      return reply(404, statuses.pathNotFound());
    if (injected()) return;

    try {
      switch (verb) {
        case 'get': {
          const found = store.get(route.def, route.namespace, route.name!);
          return found ? reply(200, found) : reply(404, statuses.notFound(route.def, route.name!));
        }
        case 'list':
          return reply(200, listResponse(route, url.searchParams));
        case 'watch':
          entry.status = 200;
          return startWatch(route, url.searchParams, res);
        case 'create': {
          const body = await readObject(req);
          if (route.def.namespaced) {
            if (body.metadata.namespace !== undefined && body.metadata.namespace !== route.namespace) {
              return reply(
                400,
                statuses.badRequest('the namespace of the provided object does not match the namespace sent on the request'),
              );
            }
            if (!store.get(resourceByPlural('namespaces'), undefined, route.namespace!))
              return reply(404, statuses.notFound(resourceByPlural('namespaces'), route.namespace!));
          }
          return reply(201, store.create(route.def, route.namespace, body, { validate: true }));
        }
        case 'update': {
          const body = await readObject(req);
          applyInjectedConflict(entry, route);
          return reply(
            200,
            store.update(route.def, route.namespace, route.name!, body, {
              subresource: route.subresource === 'status' ? 'status' : undefined,
              requireResourceVersion: true,
            }),
          );
        }
        case 'patch': {
          applyInjectedConflict(entry, route);
          const current = store.get(route.def, route.namespace, route.name!);
          if (!current) return reply(404, statuses.notFound(route.def, route.name!));
          const patched = applyPatch(route.def, current, req.headers['content-type'] ?? '', await readJson(req));
          return reply(
            200,
            store.update(route.def, route.namespace, route.name!, patched, {
              subresource: route.subresource === 'status' ? 'status' : undefined,
              requireResourceVersion: false,
            }),
          );
        }
        case 'delete': {
          const body = await readJson(req).catch(() => undefined);
          const precondition =
            isObject(body) && isObject(body.preconditions) && typeof body.preconditions.resourceVersion === 'string'
              ? body.preconditions.resourceVersion
              : undefined;
          const gone = store.delete(route.def, route.namespace, route.name!, precondition);
          return reply(200, statuses.success(route.def, route.name!, gone.metadata.uid ?? ''));
        }
        case 'deletecollection': {
          const matcher = parseLabelSelector(url.searchParams.get('labelSelector'));
          for (const object of store.list(route.def, route.namespace)) {
            if (matcher(object.metadata.labels)) store.delete(route.def, object.metadata.namespace, object.metadata.name);
          }
          return reply(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 });
        }
      }
    } catch (error) {
      if (error instanceof StatusError) return reply(error.status.code, error.status);
      if (error instanceof PatchError) return reply(422, statuses.patchRejected(error.message));
      if (error instanceof SyntaxError) return reply(400, statuses.badRequest(`error decoding body: ${error.message}`));
      throw error;
    }
  }

  function injectedFailure(
    entry: RecordedRequest,
    req: IncomingMessage,
    res: ServerResponse,
  ): boolean | 'apply-then-hang' | 'apply-then-reset' {
    const due = hooks.filter((hook) => matchesRequest(hook.match, entry));
    if (due.length > 0) {
      hooks = hooks.filter((hook) => !due.includes(hook));
      for (const hook of due) hook.run(entry);
    }
    const index = failures.findIndex((f) => matchesRequest(f.match, entry));
    if (index < 0) return false;
    const injected = failures[index]!;
    if (--injected.remaining <= 0) failures.splice(index, 1);
    if (injected.failure === 'reset') {
      entry.status = 0;
      req.socket.destroy();
      return true;
    }
    if (injected.failure === 'hang') return true; // never answered; close() ends it
    if (injected.failure === 'apply-then-hang' || injected.failure === 'apply-then-reset') return injected.failure;
    entry.status = injected.failure.status;
    const status = statuses.byCode(injected.failure.status, injected.failure.message);
    if (injected.failure.status === 429) res.setHeader('Retry-After', '1');
    sendJson(res, injected.failure.status, status);
    return true;
  }

  /** A concurrent writer changes the object just before this PUT (or PATCH) is processed, so its resourceVersion is stale. */
  function applyInjectedConflict(entry: RecordedRequest, route: Route): void {
    const index = conflicts.findIndex((c) => matchesRequest(c.match, entry));
    if (index < 0) return;
    const injected = conflicts[index]!;
    if (--injected.remaining <= 0) conflicts.splice(index, 1);
    const current = store.get(route.def, route.namespace, route.name!);
    if (!current) return;
    injected.mutate(current, ++concurrentWrites);
    store.update(route.def, route.namespace, route.name!, current, { requireResourceVersion: false });
  }

  function review(spec: SubjectAccessReviewSpec): { allowed: boolean; denied?: boolean; reason?: string } {
    const attrs = spec.resourceAttributes ?? {};
    const any = (rule: string | undefined, value: string | undefined) => rule === undefined || rule === '*' || rule === (value ?? '');
    const rule = accessRules.find(
      (r) =>
        any(r.user, spec.user) &&
        (r.groups === undefined || r.groups.some((g) => (spec.groups ?? []).includes(g))) &&
        any(r.namespace, attrs.namespace) &&
        any(r.verb, attrs.verb) &&
        any(r.group, attrs.group) &&
        any(r.resource, attrs.resource) &&
        any(r.subresource, attrs.subresource) &&
        any(r.name, attrs.name),
    );
    if (!rule) return { allowed: false };
    return rule.allowed
      ? { allowed: true, ...(rule.reason ? { reason: rule.reason } : {}) }
      : { allowed: false, denied: true, ...(rule.reason ? { reason: rule.reason } : {}) };
  }

  function listResponse(route: Route, params: URLSearchParams) {
    const matcher = selectorOrBadRequest(params);
    const fields = parseFieldSelector(params.get('fieldSelector'));
    let items = store.list(route.def, route.namespace).filter((o) => matcher(o.metadata.labels) && fields(o));
    const offset = params.get('continue') ? Number(Buffer.from(params.get('continue')!, 'base64url').toString()) : 0;
    const limit = Number(params.get('limit') ?? 0);
    let next: string | undefined;
    if (Number.isFinite(offset) && offset > 0) items = items.slice(offset);
    const remaining = limit > 0 && items.length > limit ? items.length - limit : 0;
    if (remaining > 0) {
      items = items.slice(0, limit);
      next = Buffer.from(String(offset + limit)).toString('base64url');
    }
    if (route.def.group === '')
      for (const item of items) {
        delete item.apiVersion;
        delete item.kind;
      }
    return {
      apiVersion: apiVersionOf(route.def),
      kind: route.def.listKind,
      metadata: { resourceVersion: String(store.currentRevision()), ...(next ? { continue: next, remainingItemCount: remaining } : {}) },
      items,
    };
  }

  function startWatch(route: Route, params: URLSearchParams, res: ServerResponse): void {
    const matcher = selectorOrBadRequest(params);
    const fields = parseFieldSelector(params.get('fieldSelector'));
    const rvParam = params.get('resourceVersion');
    const since = rvParam === null || rvParam === '' ? undefined : Number(rvParam);
    if (since !== undefined && !Number.isInteger(since)) throw new StatusError(statuses.badRequest(`invalid resource version: ${rvParam}`));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const write = (type: WatchEventType | 'BOOKMARK' | 'ERROR', object: KubeObject | KubeStatus) => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    let unsubscribe: () => void = () => {};
    let timeout: NodeJS.Timeout | undefined;
    const open: OpenWatch = {
      response: res,
      def: route.def,
      allowBookmarks: params.get('allowWatchBookmarks') === 'true',
      close: () => {
        unsubscribe();
        clearTimeout(timeout);
        watches.delete(open);
        if (!res.writableEnded) res.end();
      },
    };
    try {
      unsubscribe = store.watch(
        { def: route.def, namespace: route.namespace, matches: (o) => matcher(o.metadata.labels) && fields(o), send: write },
        since,
      );
    } catch (error) {
      if (error instanceof StatusError) {
        write('ERROR', error.status);
        res.end();
        return;
      }
      throw error;
    }
    watches.add(open);
    res.on('close', open.close);
    const timeoutSeconds = Number(params.get('timeoutSeconds') ?? 0);
    if (timeoutSeconds > 0) timeout = setTimeout(open.close, timeoutSeconds * 1000);
  }

  function bookmark(watch: OpenWatch): void {
    if (!watch.allowBookmarks || watch.response.writableEnded) return;
    const object = {
      kind: watch.def.kind,
      apiVersion: apiVersionOf(watch.def),
      metadata: { resourceVersion: String(store.currentRevision()) },
    };
    watch.response.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
  }

  const bookmarkTimer =
    (options.bookmarkIntervalMs ?? 1000) > 0
      ? setInterval(() => {
          for (const w of watches) bookmark(w);
        }, options.bookmarkIntervalMs ?? 1000).unref()
      : undefined;

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const boundPort = (server.address() as AddressInfo).port;
  const port = () => boundPort;
  const url = `http://127.0.0.1:${port()}`;
  let reachable = true;

  const def = (resource: ResourcePlural) => resourceByPlural(resource);

  return {
    url,
    get token() {
      return token;
    },
    setToken(next: string) {
      token = next;
    },

    // ── Seeding and inspection (bypass the API: no auth, no counters, no validation) ──
    /** Plant any object; kind/apiVersion/uid/resourceVersion are filled in. */
    seed(resource: ResourcePlural, object: KubeObject): KubeObject {
      return store.create(def(resource), object.metadata.namespace, object, { validate: false });
    },
    addNamespace(name: string, opts: SeedOptions = {}): KubeObject {
      return store.create(def('namespaces'), undefined, { metadata: { name, ...meta(opts) } }, { validate: false });
    },
    /** A managed vTeam project: namespace labelled ambient-code.io/managed=true. */
    addProject(name: string, opts: SeedOptions = {}): KubeObject {
      return this.addNamespace(name, { ...opts, labels: { 'ambient-code.io/managed': 'true', ...opts.labels } });
    },
    /** `data` is plain text; it is stored base64-encoded, as the API serves it. */
    addSecret(namespace: string, name: string, data: Record<string, string>, opts: SeedOptions & { type?: string } = {}): KubeObject {
      const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
      return store.create(
        def('secrets'),
        namespace,
        { metadata: { name, namespace, ...meta(opts) }, type: opts.type ?? 'Opaque', data: encoded },
        { validate: false },
      );
    },
    /** An RFEWorkflow with the labels the vTeam backend sets (project, rfe-workflow). */
    addRfeWorkflow(
      namespace: string,
      name: string,
      spec: Record<string, unknown>,
      opts: SeedOptions & { status?: Record<string, unknown> } = {},
    ): KubeObject {
      const labels = { project: namespace, 'rfe-workflow': name, ...opts.labels };
      return store.create(
        def('rfeworkflows'),
        namespace,
        {
          metadata: { name, namespace, labels, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
          spec,
          ...(opts.status ? { status: opts.status } : {}),
        },
        { validate: false },
      );
    },
    addProjectSettings(namespace: string, opts: SeedOptions & { spec?: Record<string, unknown>; name?: string } = {}): KubeObject {
      return store.create(
        def('projectsettings'),
        namespace,
        { metadata: { name: opts.name ?? 'projectsettings', namespace, ...meta(opts) }, spec: opts.spec ?? { groupAccess: [] } },
        { validate: false },
      );
    },
    get(resource: ResourcePlural, namespace: string | undefined, name: string): KubeObject | undefined {
      return store.get(def(resource), namespace, name);
    },
    list(resource: ResourcePlural, namespace?: string): KubeObject[] {
      return store.list(def(resource), namespace);
    },
    /** An out-of-band write (another client): bumps resourceVersion and notifies watchers. */
    modify(resource: ResourcePlural, namespace: string | undefined, name: string, mutate: (object: KubeObject) => void): KubeObject {
      const current = store.get(def(resource), namespace, name);
      if (!current) throw new Error(`fake-kube: ${resource} ${namespace ?? ''}/${name} not found`);
      mutate(current);
      return store.update(def(resource), namespace, name, current, { requireResourceVersion: false });
    },
    remove(resource: ResourcePlural, namespace: string | undefined, name: string): void {
      store.delete(def(resource), namespace, name);
    },
    resourceVersion: () => String(store.currentRevision()),

    // ── Faults ──
    /**
     * The next `count` matching PUTs (default: any rfeworkflows update) each find the object changed by a
     * concurrent writer just before they are processed, so they fail with 409 Conflict. `mutate` is what
     * the writer does (default: sets annotation fake-kube.test/concurrent-write=<n>). `verb: 'patch'` targets
     * PATCHes instead: a JSON patch that `test`s the resourceVersion it read then fails as on a real server.
     */
    injectConflicts(
      count: number,
      opts: { match?: Omit<RequestMatch, 'verb'>; mutate?: (object: KubeObject, nth: number) => void; verb?: 'update' | 'patch' } = {},
    ): void {
      conflicts.push({
        match: { resource: 'rfeworkflows', ...opts.match, verb: opts.verb ?? 'update' },
        mutate:
          opts.mutate ??
          ((object, nth) => {
            object.metadata.annotations = { ...object.metadata.annotations, 'fake-kube.test/concurrent-write': String(nth) };
          }),
        remaining: count,
      });
    },
    /**
     * The next `times` matching requests fail with that HTTP status (as a Status object), a connection
     * reset, or 'hang' (never answered, to exercise client timeouts).
     */
    failNext(match: RequestMatch, failure: InjectedFailureKind, times = 1): void {
      failures.push({ match, failure, remaining: times });
    },
    clearFaults(): void {
      failures.length = 0;
      conflicts.length = 0;
      hooks = [];
    },
    /**
     * Runs `run` synchronously when the next request matching `match` arrives, before any injected
     * failure and before it is processed (e.g. to inject a fault at an exact step).
     */
    onNextRequest(match: RequestMatch, run: (request: RecordedRequest) => void): void {
      hooks.push({ match, run });
    },
    /**
     * false: the API server is unreachable (it stops listening, so connections are refused, and every
     * open connection and watch is dropped); true: it listens again on the same port, state intact.
     */
    async setReachable(next: boolean): Promise<void> {
      if (next === reachable) return;
      reachable = next;
      if (!next) {
        for (const w of [...watches]) w.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        return;
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(boundPort, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    },
    get reachable(): boolean {
      return reachable;
    },
    /** false = the CRD is not installed: discovery omits it and its paths answer 404. */
    setServed(resource: ResourcePlural, served: boolean): void {
      if (served) unserved.delete(resource);
      else unserved.add(resource);
    },
    /** Ends every open watch stream (clients must re-establish). Returns how many were dropped. */
    dropWatches(): number {
      const open = [...watches];
      for (const w of open) {
        w.close();
        w.response.socket?.destroy();
      }
      return open.length;
    },
    /** Forget event history: resuming a watch from any earlier resourceVersion now gets 410 Expired. */
    compactHistory: () => store.compact(),
    /** Send a BOOKMARK now on every watch that allowed them. */
    sendBookmarks(): void {
      for (const w of watches) bookmark(w);
    },
    activeWatches: () => watches.size,
    setAccessRules(rules: AccessRule[]): void {
      accessRules = rules;
    },
    /** Who the token authenticates as in SelfSubjectAccessReviews. */
    setSelfSubject(subject: { user: string; groups?: string[] }): void {
      selfSubject = subject;
    },

    // ── Observation ──
    requests,
    accessReviews,
    /** SelfSubjectAccessReviews, with the subject the token stands for filled in. */
    selfAccessReviews,
    /** Requests (answered or failed) with that verb on that resource, e.g. count('update', 'rfeworkflows'). */
    count(verb: KubeVerb, resource: string): number {
      return requests.filter((r) => r.verb === verb && r.resource === resource).length;
    },
    /** All counts keyed `"<verb> <resource>"`. */
    counts(): Record<string, number> {
      const result: Record<string, number> = {};
      for (const r of requests)
        if (r.verb !== 'discovery') result[`${r.verb} ${r.resource}`] = (result[`${r.verb} ${r.resource}`] ?? 0) + 1;
      return result;
    },
    resetRequests(): void {
      requests.length = 0;
      accessReviews.length = 0;
      selfAccessReviews.length = 0;
    },

    async close(): Promise<void> {
      clearInterval(bookmarkTimer);
      for (const w of [...watches]) w.close();
      if (!reachable) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function discoveryDocument(segments: string[], address: string): unknown {
    const served = RESOURCES.filter(isServed);
    const groups = [...new Set(served.filter((r) => r.group !== '').map((r) => `${r.group}/${r.version}`)), 'authorization.k8s.io/v1'];
    const apiGroup = (groupVersion: string) => {
      const [name, version] = groupVersion.split('/') as [string, string];
      return { name, versions: [{ groupVersion, version }], preferredVersion: { groupVersion, version } };
    };
    const resourceList = (group: string, version: string) => {
      const resources = served
        .filter((r) => r.group === group && r.version === version)
        .flatMap((r) => [
          {
            name: r.plural,
            singularName: r.singular,
            namespaced: r.namespaced,
            kind: r.kind,
            verbs: r.verbs,
            ...(r.shortNames ? { shortNames: r.shortNames } : {}),
          },
          ...(r.statusSubresource
            ? [{ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] }]
            : []),
        ]);
      if (group === 'authorization.k8s.io' && version === 'v1') {
        resources.push({
          name: 'subjectaccessreviews',
          singularName: 'subjectaccessreview',
          namespaced: false,
          kind: 'SubjectAccessReview',
          verbs: ['create'],
        });
        resources.push({
          name: 'selfsubjectaccessreviews',
          singularName: 'selfsubjectaccessreview',
          namespaced: false,
          kind: 'SelfSubjectAccessReview',
          verbs: ['create'],
        });
      }
      if (resources.length === 0) return null;
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources };
    };
    const path = segments.join('/');
    if (path === 'version') return { major: '1', minor: '31', gitVersion: 'v1.31.0-fake', platform: 'linux/amd64' };
    if (path === 'api')
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: address }] };
    if (path === 'api/v1') return resourceList('', 'v1');
    if (path === 'apis') return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(apiGroup) };
    if (segments[0] === 'apis' && segments.length === 2) {
      const match = groups.find((g) => g.startsWith(`${segments[1]}/`));
      return match ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(match) } : null;
    }
    if (segments[0] === 'apis' && segments.length === 3) return resourceList(segments[1]!, segments[2]!);
    return undefined;
  }
}

function meta(opts: SeedOptions): { labels?: Record<string, string>; annotations?: Record<string, string> } {
  return { ...(opts.labels ? { labels: opts.labels } : {}), ...(opts.annotations ? { annotations: opts.annotations } : {}) };
}

function parseRoute(segments: string[]): Route | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments[1] === 'v1') {
    [group, version, rest] = ['', 'v1', segments.slice(2)];
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    [group, version, rest] = [segments[1]!, segments[2]!, segments.slice(3)];
  } else {
    return undefined;
  }
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const def = findResource(group, version, rest[2]!);
    if (def?.namespaced && rest.length <= 5) return { def, namespace: rest[1], name: rest[3], subresource: rest[4] };
  }
  const def = findResource(group, version, rest[0] ?? '');
  if (!def || rest.length > 3) return undefined;
  // A namespaced resource at the root is the all-namespaces collection (list/watch only).
  if (def.namespaced && rest.length > 1) return undefined;
  return { def, namespace: undefined, name: rest[1], subresource: rest[2] };
}

function verbOf(method: string, route: Route, watching: boolean): KubeVerb | undefined {
  const collection = route.name === undefined;
  const allNamespaces = route.def.namespaced && route.namespace === undefined;
  switch (method) {
    case 'GET':
      return collection ? (watching ? 'watch' : 'list') : 'get';
    case 'POST':
      return collection && !allNamespaces ? 'create' : undefined;
    case 'PUT':
      return collection ? undefined : 'update';
    case 'PATCH':
      return collection ? undefined : 'patch';
    case 'DELETE':
      return collection ? (allNamespaces ? undefined : 'deletecollection') : 'delete';
    default:
      return undefined;
  }
}

function matchesRequest(match: RequestMatch, entry: RecordedRequest): boolean {
  return (
    (match.verb === undefined || match.verb === entry.verb) &&
    (match.resource === undefined || match.resource === entry.resource) &&
    (match.namespace === undefined || match.namespace === entry.namespace) &&
    (match.name === undefined || match.name === entry.name)
  );
}

function applyPatch(def: ResourceDefinition, current: KubeObject, contentType: string, patch: unknown): KubeObject {
  const type = contentType.split(';')[0]!.trim();
  switch (type) {
    case 'application/json-patch+json':
      return applyJsonPatch(current, patch);
    case 'application/merge-patch+json':
      return applyMergePatch(current, patch);
    // Built-in types only; approximated as a merge patch (no list merge keys), which is enough for metadata/spec maps.
    case 'application/strategic-merge-patch+json':
      if (def.strategicMergePatch) return applyMergePatch(current, patch);
      throw new StatusError(statuses.unsupportedMediaType(type));
    default:
      throw new StatusError(statuses.unsupportedMediaType(type));
  }
}

function selectorOrBadRequest(params: URLSearchParams): LabelMatcher {
  try {
    return parseLabelSelector(params.get('labelSelector'));
  } catch (error) {
    throw new StatusError(statuses.badRequest(`unable to parse requirement: ${(error as Error).message}`));
  }
}

/** Only metadata.name and metadata.namespace equality, which is what every type supports. */
function parseFieldSelector(selector: string | null): (object: KubeObject) => boolean {
  const terms = (selector ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => {
      const m = /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(t);
      if (!m) throw new StatusError(statuses.badRequest(`field label not supported: ${t}`));
      return { field: m[1] === 'metadata.name' ? ('name' as const) : ('namespace' as const), negate: m[2] === '!=', value: m[3] };
    });
  return (object) => terms.every((t) => (object.metadata[t.field] === t.value) !== t.negate);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

async function readObject(req: IncomingMessage): Promise<KubeObject> {
  const body = await readJson(req);
  if (!isObject(body) || !isObject(body.metadata))
    throw new StatusError(statuses.badRequest("Object 'metadata' is missing or not an object"));
  return body as KubeObject;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export const VTEAM_API = { group: VTEAM_GROUP, version: VTEAM_VERSION } as const;
