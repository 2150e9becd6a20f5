import { describe, expect, it } from 'vitest';
import { clusterUserFor, parseEmail } from '../../src/identity/cluster-user.ts';

describe('cluster user template', () => {
  it('renders {email}, {local} and {domain}', () => {
    expect(clusterUserFor('{email}', 'alice@example.com')).toBe('alice@example.com');
    expect(clusterUserFor('oidc:{local}', 'alice@example.com')).toBe('oidc:alice');
    expect(clusterUserFor('{local}@corp.{domain}', 'alice@example.com')).toBe('alice@corp.example.com');
    expect(clusterUserFor('{local}-{local}', 'a.b@example.com')).toBe('a.b-a.b');
  });

  it('folds the domain to lower case and keeps the local part as Slack has it', () => {
    expect(clusterUserFor('{email}', '  Alice.Smith@Example.COM ')).toBe('Alice.Smith@example.com');
    expect(parseEmail('Bob@Sub.Example.org')).toEqual({ email: 'Bob@sub.example.org', local: 'Bob', domain: 'sub.example.org' });
  });

  it('refuses anything that is not a plain address, so no template can be steered to another principal', () => {
    for (const bad of [
      undefined,
      '',
      'alice',
      'alice@',
      '@example.com',
      'a@b@example.com',
      'system:admin@example.com',
      'alice bob@example.com',
      '"quoted"@example.com',
      'alice@localhost',
      'al\nice@example.com',
      `${'a'.repeat(250)}@example.com`,
    ]) {
      expect(clusterUserFor('{local}', bad), String(bad)).toBeUndefined();
    }
  });

  it('refuses a template that renders to nothing usable', () => {
    expect(clusterUserFor('  {local}  ', 'alice@example.com')).toBe('alice');
    expect(clusterUserFor('{unknown}{local}', 'alice@example.com')).toBeUndefined();
    expect(clusterUserFor('user {local}', 'alice@example.com')).toBeUndefined();
  });
});
