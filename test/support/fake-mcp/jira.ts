/**
 * The in-memory Jira behind the fake MCP server: sites, projects, tokens and issues, with the
 * error wording Jira (through the MCP servers) uses. Dialect-independent; tools.ts formats it.
 */
import { randomUUID } from 'node:crypto';

export class JiraError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JiraError';
  }
}

/** The token is unknown, revoked or not valid for the site: what Jira answers with 401. */
export class JiraAuthError extends JiraError {}

export interface FakeSite {
  id: string;
  url: string;
  name: string;
}

export interface FakeProject {
  cloudId: string;
  key: string;
  name: string;
  issueTypes: string[];
  /**
   * Hierarchy level per issue type name (case-insensitive), overriding the defaults of
   * `hierarchyLevel`: Epic 1, `Sub-task`/`Subtask` -1, anything else 0. Empty unless declared.
   */
  hierarchy: Record<string, number>;
  /** "This project is anonymous and can't be used to create issues using Rovo MCP Server" (issue #115). */
  anonymous: boolean;
}

export interface FakeAccount {
  accountId: string;
  name: string;
  email: string;
}

export interface FakeToken {
  token: string;
  /** Cloud ids this token was granted. */
  sites: string[];
  /** Project keys where the account lacks the Create Issues permission. */
  denyCreateIn: string[];
  account: FakeAccount;
  revoked: boolean;
}

export interface FakeIssue {
  id: string;
  key: string;
  cloudId: string;
  projectKey: string;
  summary: string;
  description: string;
  labels: string[];
  issueType: string;
  parent: string | undefined;
  /** The issue type's level in the project's hierarchy when created: Epic 1, standard 0, sub-task -1. */
  hierarchyLevel: number;
  /** Any other field sent through additional_fields, as received. */
  otherFields: Record<string, unknown>;
  reporter: string;
  created: string;
  updated: string;
}

export interface SiteInput {
  id?: string;
  url: string;
  name?: string;
}
export interface ProjectInput {
  site: string;
  key: string;
  name?: string;
  /** Default DEFAULT_ISSUE_TYPES, plus any type named in `hierarchy` that they lack. */
  issueTypes?: string[];
  anonymous?: boolean;
  /**
   * Levels of custom (or re-levelled) issue types, e.g. `{ Initiative: 2 }` or `{ Feature: 1 }`; a type
   * at -1 is a sub-task type. Types not named keep the default levels (see `hierarchyLevel`).
   */
  hierarchy?: Record<string, number>;
}
export interface TokenInput {
  token: string;
  sites: string[];
  denyCreateIn?: string[];
  account?: Partial<FakeAccount>;
}

export interface CreateInput {
  projectKey: string;
  issueType: string;
  summary: string;
  description?: string | undefined;
  parent?: string | undefined;
  fields?: Record<string, unknown> | undefined;
}

export const DEFAULT_ISSUE_TYPES = ['Epic', 'Story', 'Task', 'Bug', 'Sub-task'];

/**
 * Jira Cloud refuses a parent that is not exactly one level above the child (a Task under a Task, a
 * Sub-task under an Epic, an Epic under anything but a level-2 type) with this sentence.
 */
export const WRONG_HIERARCHY = 'Given parent work item does not belong to appropriate hierarchy.';
/**
 * A sub-task created without a parent. Jira's REST create answers this in its field-errors map
 * (the family of `errors.parentId`/`errors.issuetype` messages; observed as
 * `{"errors":{"issuetype":"Issue type is a sub-task but parent issue key or id not specified."}}`),
 * and the MCP servers pass the sentence through.
 */
export const SUBTASK_NEEDS_PARENT = 'Issue type is a sub-task but parent issue key or id not specified.';
/**
 * A sub-task whose parent is in another project: Jira's REST answer (`errors.pid`). Sub-tasks live in
 * their parent's project; standard issues may have an Epic of another project.
 */
export const SUBTASK_OTHER_PROJECT = 'Issues with this Issue Type must be created in the same project as the parent.';

/**
 * An issue type's level in a project's hierarchy: the project's declared level if any, else Epic 1,
 * `Sub-task`/`Subtask` -1 (company-managed and team-managed spellings; self-hosted calls it `Subtask`),
 * anything else 0. A child's parent must be exactly one level above it.
 */
export function hierarchyLevel(project: Pick<FakeProject, 'hierarchy'>, type: string): number {
  const declared = Object.entries(project.hierarchy).find(([name]) => name.toLowerCase() === type.toLowerCase());
  if (declared !== undefined) return declared[1];
  if (/^epic$/i.test(type)) return 1;
  if (/^sub-?task$/i.test(type)) return -1;
  return 0;
}

export class FakeJira {
  readonly sites: FakeSite[] = [];
  readonly projects: FakeProject[] = [];
  readonly tokens = new Map<string, FakeToken>();
  readonly issues: FakeIssue[] = [];
  /**
   * Jira's search index is eventually consistent: an issue becomes visible to JQL search only this
   * long after it was created (reading it by key works at once). Default 0.
   */
  searchLagMs = 0;
  /**
   * Refuses some creates as a project's own configuration would (a required custom field, a
   * validator): called once a create has passed every other check, with the input as received but
   * `parent` resolved (from the argument or `fields.parent`). A returned string is Jira's error
   * message, e.g. `Team is required.`; undefined lets the create through. Unset: nothing refused.
   */
  rejectCreate: ((input: CreateInput) => string | undefined) | undefined = undefined;
  private readonly nextNumber = new Map<string, number>();
  private nextId = 10_000;
  /** Issue id → epoch ms of creation, for the search lag (kept out of FakeIssue, whose shape tests compare). */
  private readonly createdAt = new Map<string, number>();

  addSite(input: SiteInput): FakeSite {
    const site = {
      id: input.id ?? randomUUID(),
      url: input.url.replace(/\/+$/, ''),
      name: input.name ?? new URL(input.url).hostname.split('.')[0] ?? input.url,
    };
    this.sites.push(site);
    return site;
  }

  addProject(input: ProjectInput): FakeProject {
    const site = this.siteFor(input.site);
    if (site === undefined) throw new Error(`addProject: unknown site ${input.site}`);
    const hierarchy = { ...input.hierarchy };
    const declared = Object.keys(hierarchy).filter(
      (name) => !DEFAULT_ISSUE_TYPES.some((type) => type.toLowerCase() === name.toLowerCase()),
    );
    const project: FakeProject = {
      cloudId: site.id,
      key: input.key,
      name: input.name ?? input.key,
      issueTypes: input.issueTypes ?? [...DEFAULT_ISSUE_TYPES, ...declared],
      hierarchy,
      anonymous: input.anonymous ?? false,
    };
    this.projects.push(project);
    return project;
  }

  addToken(input: TokenInput): FakeToken {
    const sites = input.sites.map((s) => {
      const site = this.siteFor(s);
      if (site === undefined) throw new Error(`addToken: unknown site ${s}`);
      return site.id;
    });
    const accountId = input.account?.accountId ?? `acct-${this.tokens.size + 1}`;
    const token: FakeToken = {
      token: input.token,
      sites,
      denyCreateIn: input.denyCreateIn ?? [],
      revoked: false,
      account: { accountId, name: input.account?.name ?? `User ${accountId}`, email: input.account?.email ?? `${accountId}@example.com` },
    };
    this.tokens.set(input.token, token);
    return token;
  }

  /** By cloud id, or by site URL (Rovo accepts either as `cloudId`). */
  siteFor(idOrUrl: string): FakeSite | undefined {
    const byId = this.sites.find((site) => site.id === idOrUrl);
    if (byId !== undefined) return byId;
    const host = hostOf(idOrUrl);
    return host === undefined ? undefined : this.sites.find((site) => hostOf(site.url) === host);
  }

  validToken(token: string | undefined): FakeToken | undefined {
    const found = token === undefined ? undefined : this.tokens.get(token);
    return found === undefined || found.revoked ? undefined : found;
  }

  /** The site a call acts on: the token must hold it. */
  site(token: FakeToken, cloudId: string | undefined): FakeSite {
    const site = cloudId === undefined ? undefined : this.siteFor(cloudId);
    if (site === undefined || !token.sites.includes(site.id)) {
      throw new JiraError(
        `Cloud id ${cloudId ?? '(none)'} does not match any site this account can access; use getAccessibleAtlassianResources to find it.`,
      );
    }
    return site;
  }

  accessibleSites(token: FakeToken): FakeSite[] {
    return this.sites.filter((site) => token.sites.includes(site.id));
  }

  project(site: FakeSite, key: string): FakeProject | undefined {
    return this.projects.find((project) => project.cloudId === site.id && project.key === key);
  }

  create(token: FakeToken, site: FakeSite, input: CreateInput): FakeIssue {
    const project = this.project(site, input.projectKey);
    if (project === undefined) throw new JiraError('valid project is required');
    if (project.anonymous) throw new JiraError("This project is anonymous and can't be used to create issues using Rovo MCP Server");
    if (token.denyCreateIn.includes(project.key)) throw new JiraError('You do not have permission to create issues in this project.');
    if (!project.issueTypes.some((type) => type.toLowerCase() === input.issueType.toLowerCase())) {
      throw new JiraError(`The issue type selected is invalid. Specify a valid issue type for project ${project.key}.`);
    }
    if (input.summary.trim() === '') throw new JiraError('You must specify a summary of the issue.');
    if (input.summary.length > 255) throw new JiraError('Summary must be less than 255 characters.');
    const { labels, parent, rest } = splitFields(input.fields ?? {});
    const parentKey = input.parent ?? parent;
    const issueType = canonicalType(project, input.issueType);
    const level = hierarchyLevel(project, issueType);
    this.checkParent(site, project, level, parentKey);
    const refusal = this.rejectCreate?.({ ...input, parent: parentKey });
    if (refusal !== undefined) throw new JiraError(refusal);

    const number = (this.nextNumber.get(`${site.id}/${project.key}`) ?? 0) + 1;
    this.nextNumber.set(`${site.id}/${project.key}`, number);
    const now = new Date().toISOString();
    const issue: FakeIssue = {
      id: String(this.nextId++),
      key: `${project.key}-${number}`,
      cloudId: site.id,
      projectKey: project.key,
      summary: input.summary,
      description: input.description ?? '',
      labels,
      issueType,
      parent: parentKey,
      hierarchyLevel: level,
      otherFields: rest,
      reporter: token.account.accountId,
      created: now,
      updated: now,
    };
    this.issues.push(issue);
    this.createdAt.set(issue.id, Date.now());
    return issue;
  }

  edit(site: FakeSite, key: string, fields: Record<string, unknown>): FakeIssue {
    const issue = this.find(site, key);
    if (issue === undefined) throw new JiraError('Issue does not exist or you do not have permission to see it.');
    const { labels, parent, rest } = splitFields(fields);
    if (typeof rest.summary === 'string') issue.summary = rest.summary;
    if (typeof rest.description === 'string') issue.description = rest.description;
    if ('labels' in fields) issue.labels = labels;
    if (parent !== undefined && parent !== issue.parent) {
      const project = this.project(site, issue.projectKey);
      if (project === undefined) throw new JiraError('valid project is required');
      this.checkParent(site, project, issue.hierarchyLevel, parent);
      issue.parent = parent;
    }
    delete rest.summary;
    delete rest.description;
    Object.assign(issue.otherFields, rest);
    issue.updated = new Date().toISOString();
    return issue;
  }

  /** Jira's hierarchy rules for a child of `level` in `project` under `parentKey` (on create, and on edit of the parent). */
  private checkParent(site: FakeSite, project: FakeProject, level: number, parentKey: string | undefined): void {
    if (parentKey === undefined) {
      if (level === -1) throw new JiraError(SUBTASK_NEEDS_PARENT);
      return;
    }
    const parent = this.find(site, parentKey);
    if (parent === undefined) throw new JiraError(`Could not find issue by id or key: ${parentKey}`);
    if (level === -1 && parent.projectKey !== project.key) throw new JiraError(SUBTASK_OTHER_PROJECT);
    if (parent.hierarchyLevel !== level + 1) throw new JiraError(WRONG_HIERARCHY);
  }

  find(site: FakeSite, key: string): FakeIssue | undefined {
    return this.issues.find((issue) => issue.cloudId === site.id && (issue.key === key || issue.id === key));
  }

  search(site: FakeSite, jql: string): FakeIssue[] {
    const clauses = parseJql(jql);
    const indexedBefore = Date.now() - this.searchLagMs;
    return this.issues.filter(
      (issue) =>
        issue.cloudId === site.id &&
        (this.createdAt.get(issue.id) ?? 0) <= indexedBefore &&
        clauses.every((clause) => matches(issue, clause)),
    );
  }
}

function canonicalType(project: FakeProject, type: string): string {
  return project.issueTypes.find((candidate) => candidate.toLowerCase() === type.toLowerCase()) ?? type;
}

function splitFields(fields: Record<string, unknown>): { labels: string[]; parent: string | undefined; rest: Record<string, unknown> } {
  const { labels, parent, ...rest } = fields;
  if (labels !== undefined && (!Array.isArray(labels) || !labels.every((label) => typeof label === 'string'))) {
    throw new JiraError('labels: data was not an array');
  }
  for (const label of (labels as string[] | undefined) ?? []) {
    if (/\s/.test(label)) throw new JiraError(`labels: The label '${label}' contains spaces which is invalid.`);
  }
  let parentKey: string | undefined;
  if (typeof parent === 'string') parentKey = parent;
  else if (typeof parent === 'object' && parent !== null && typeof (parent as { key?: unknown }).key === 'string')
    parentKey = (parent as { key: string }).key;
  else if (parent !== undefined) throw new JiraError('parent: Could not find issue by id or key.');
  return { labels: [...((labels as string[] | undefined) ?? [])], parent: parentKey, rest };
}

export function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return undefined;
  }
}

// --- A small JQL subset: `field = value [AND field = value]* [ORDER BY …]` ---------------------

export interface JqlClause {
  field: 'project' | 'labels' | 'key' | 'issuetype';
  value: string;
}

export function parseJql(jql: string): JqlClause[] {
  const withoutOrder = jql.replace(/\s+ORDER\s+BY\s+[\s\S]*$/i, '');
  const clauses: JqlClause[] = [];
  let rest = withoutOrder.trim();
  if (rest === '') return clauses;
  for (;;) {
    const head = /^(project|labels|key|issuetype)\s*=\s*/i.exec(rest);
    if (head === null) throw new JiraError(`Error in the JQL Query: unsupported clause near '${rest.slice(0, 30)}'.`);
    rest = rest.slice(head[0].length);
    let value: string;
    if (rest.startsWith('"')) {
      let index = 1;
      value = '';
      while (index < rest.length && rest[index] !== '"') {
        if (rest[index] === '\\' && index + 1 < rest.length) index += 1;
        value += rest[index];
        index += 1;
      }
      if (index >= rest.length) throw new JiraError('Error in the JQL Query: The quoted string has not been completed.');
      rest = rest.slice(index + 1);
    } else {
      const bare = /^[A-Za-z0-9_.-]+/.exec(rest);
      if (bare === null) throw new JiraError(`Error in the JQL Query: expecting a value near '${rest.slice(0, 30)}'.`);
      value = bare[0];
      rest = rest.slice(bare[0].length);
    }
    clauses.push({ field: (head[1] ?? '').toLowerCase() as JqlClause['field'], value });
    rest = rest.trim();
    if (rest === '') return clauses;
    const and = /^AND\s+/i.exec(rest);
    if (and === null) throw new JiraError(`Error in the JQL Query: expecting AND near '${rest.slice(0, 30)}'.`);
    rest = rest.slice(and[0].length);
  }
}

function matches(issue: FakeIssue, clause: JqlClause): boolean {
  switch (clause.field) {
    case 'project':
      return issue.projectKey === clause.value;
    case 'labels':
      return issue.labels.includes(clause.value);
    case 'key':
      return issue.key === clause.value;
    case 'issuetype':
      return issue.issueType.toLowerCase() === clause.value.toLowerCase();
  }
}
