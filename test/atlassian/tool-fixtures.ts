/** Shared by the dialect and argument tests: Rovo v1's create schema (reference A.3) and one create request. */
import type { CreateIssueRequest } from '../../src/publishing/model.ts';

export const V1_CREATE_PROPS = {
  cloudId: { type: 'string' },
  projectKey: { type: 'string' },
  issueTypeName: { type: 'string' },
  summary: { type: 'string' },
  description: { type: 'string' },
  parent: { type: 'string' },
  additional_fields: { type: 'object' },
};

export const CREATE_REQUEST: CreateIssueRequest = {
  siteUrl: 'https://acme.atlassian.net',
  projectKey: 'RFE',
  issueType: 'Story',
  summary: 'Spec',
  description: '# Spec',
  labels: ['vteam-rfe-1-spec'],
  parentKey: 'RFE-1',
};
