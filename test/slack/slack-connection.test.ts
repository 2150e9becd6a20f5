import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { trackSocketModeConnection } from '../../src/slack/slack-connection.ts';

describe('trackSocketModeConnection', () => {
  it('is connected only between hello and the socket going away', () => {
    const client = new EventEmitter();
    const connected = trackSocketModeConnection(client);
    expect(connected()).toBe(false);
    client.emit('connecting');
    expect(connected()).toBe(false);
    client.emit('connected');
    expect(connected()).toBe(true);
    // The socket closed: the client pauses before 'reconnecting', and no commands arrive meanwhile.
    client.emit('close');
    expect(connected()).toBe(false);
    client.emit('reconnecting');
    client.emit('connected');
    expect(connected()).toBe(true);
    client.emit('disconnecting');
    expect(connected()).toBe(false);
  });
});
