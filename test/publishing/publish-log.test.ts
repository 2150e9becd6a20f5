/**
 * Each publish (and each recovery) logs under its own publishId, the attempt's lines included, so one
 * publish's story can be read from a busy log.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorld, request, type World } from './world.ts';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

interface Line {
  msg: string;
  publishId?: string;
  [key: string]: unknown;
}

function capture(): { logger: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Line) });
  return { logger, lines };
}

describe('publish log lines', () => {
  it('carry one publishId per publish, in the service and in the attempt', async () => {
    world = await createWorld();
    const { logger, lines } = capture();
    const service = world.replica('a', { logger });
    world.slackFaults.published = 2; // the reply fails, and again when recovery tells it
    await service.publish(request());

    const published = lines.find((l) => l.msg === 'published');
    const notTold = lines.find((l) => l.msg === 'could not tell the user; recovery will try again');
    expect(published?.publishId).toMatch(/^[0-9a-f]{8}$/);
    expect(notTold?.publishId).toBe(published?.publishId);

    // Recovery is a run of its own: the service's line and the attempt's share another id.
    await service.recoverInterrupted();
    const recovering = lines.find((l) => l.msg === 'recovering an interrupted publish');
    const givenUp = lines.find((l) => l.msg === 'could not tell the user about a recovered publish; giving up');
    expect(recovering?.publishId).toMatch(/^[0-9a-f]{8}$/);
    expect(recovering?.publishId).not.toBe(published?.publishId);
    expect(givenUp?.publishId).toBe(recovering?.publishId);
  });

  it('gives every publish its own id', async () => {
    world = await createWorld();
    const { logger, lines } = capture();
    const service = world.replica('a', { logger });
    world.jira.createFaults = ['rejected', 'rejected'];
    await service.publish(request());
    await service.publish(request());
    const failed = lines.filter((l) => l.msg === 'publish failed');
    expect(failed).toHaveLength(2);
    expect(new Set(failed.map((l) => l.publishId)).size).toBe(2);
  });
});
