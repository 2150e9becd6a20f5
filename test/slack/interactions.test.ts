import type { ViewSubmitAction } from '@slack/bolt';
import type { ModalView } from '@slack/types';
import { describe, expect, it, vi } from 'vitest';
import { errors, logLevelOf } from '../../src/errors.ts';
import { modalUserOf, readSubmission, slackUserOf, type SubmissionRules } from '../../src/slack/handlers/interactions.ts';

describe('who acted', () => {
  it("takes the user's own workspace first, then the payload's, and the Enterprise Grid org when there is one", () => {
    expect(slackUserOf({ user: { id: 'U1', team_id: 'T1' }, team: { id: 'T2' }, enterprise: { id: 'E1' } })).toEqual({
      teamId: 'T1',
      enterpriseId: 'E1',
      userId: 'U1',
    });
    expect(slackUserOf({ user: { id: 'U1' }, team: { id: 'T2' }, enterprise: null })).toEqual({
      teamId: 'T2',
      enterpriseId: undefined,
      userId: 'U1',
    });
  });

  it('is nobody without a workspace, except in a modal, which names its own', () => {
    expect(slackUserOf({ user: { id: 'U1' }, team: null })).toBeUndefined();
    expect(modalUserOf({ user: { id: 'U1' }, team: null }, { team_id: 'T3' })).toEqual({
      teamId: 'T3',
      enterpriseId: undefined,
      userId: 'U1',
    });
    expect(modalUserOf({ user: { id: 'U1' }, team: { id: 'T2' } }, { team_id: 'T3' }).teamId).toBe('T2');
  });
});

describe('a modal submission', () => {
  const stale: ModalView = { type: 'modal', title: { type: 'plain_text', text: 'Stale' }, blocks: [] };
  const rules: SubmissionRules<{ project: string }, { ok: true; value: string }> = {
    decode: (raw) => (raw === 'good' ? { project: 'team-a' } : undefined),
    validate: (values) => {
      const value = values.block?.input?.value;
      return value ? { ok: true, value } : { ok: false, errors: { block: 'Required' } };
    },
    stale: { view: () => stale, log: 'stale form' },
  };
  const submit = (metadata: string, value: string | undefined) => {
    const ack = vi.fn(async () => undefined);
    const body = {
      user: { id: 'U1', name: 'alice', team_id: 'T1' },
      team: { id: 'T1', domain: 'acme' },
      enterprise: { id: 'E1', name: 'Org' },
    } as unknown as ViewSubmitAction;
    const view = {
      private_metadata: metadata,
      team_id: 'T1',
      state: { values: { block: { input: { type: 'plain_text_input', value } } } },
    } as unknown as ViewSubmitAction['view'];
    return { ack, run: () => readSubmission({ ack, body, view }, rules) };
  };

  it('comes back unacknowledged, with its metadata, form and submitter, when both read well', async () => {
    const { ack, run } = submit('good', 'Story');
    expect(await run()).toEqual({
      metadata: { project: 'team-a' },
      form: { ok: true, value: 'Story' },
      user: { teamId: 'T1', enterpriseId: 'E1', userId: 'U1' },
    });
    expect(ack).not.toHaveBeenCalled();
  });

  it('replaces the modal when its metadata is unreadable', async () => {
    const { ack, run } = submit('bad', 'Story');
    expect(await run()).toBeUndefined();
    expect(ack).toHaveBeenCalledWith({ response_action: 'update', view: stale });
  });

  it("shows the form's errors in the modal", async () => {
    const { ack, run } = submit('good', undefined);
    expect(await run()).toBeUndefined();
    expect(ack).toHaveBeenCalledWith({ response_action: 'errors', errors: { block: 'Required' } });
  });
});

describe('logLevelOf', () => {
  it("logs our own bugs as errors and everything else at the caller's level", () => {
    expect(logLevelOf(errors.internal(new Error('bug')))).toBe('error');
    expect(logLevelOf(errors.notLinked())).toBe('info');
    expect(logLevelOf(errors.notLinked(), { otherwise: 'warn' })).toBe('warn');
    expect(logLevelOf(errors.kubernetesUnavailable(new Error('down')), { alsoErrors: ['KUBERNETES_UNAVAILABLE'] })).toBe('error');
  });
});
