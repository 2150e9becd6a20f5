export { createMcpJiraGateway, userKey } from './jira-gateway.ts';
export type { McpJiraGateway, McpJiraGatewayOptions, McpJiraGatewayStats } from './jira-gateway.ts';
export type { AtlassianCredential, AtlassianCredentials } from './credentials.ts';
export { detectDialect } from './dialect.ts';
export type { Dialect, DialectFamily } from './dialect.ts';
