/**
 * What the link flow keeps between its steps, in the shared store. Keys are hashes of the link id
 * and of the state, and a flow keeps only a hash of its browser secret: reading the store gives
 * nothing that opens a link or completes a flow.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

const userSchema = z.object({ teamId: z.string(), enterpriseId: z.string().optional(), userId: z.string() });

/** A sign-in link handed to Slack; `openedAt` once a browser has opened it. */
export const signInSchema = z.object({
  user: userSchema,
  createdAt: z.number(),
  expiresAt: z.number(),
  context: z.unknown().optional(),
  openedAt: z.number().optional(),
});
export type SignInLink = z.infer<typeof signInSchema>;

/** An OAuth flow under way in one browser. */
export const pendingSchema = z.object({
  user: userSchema,
  /** sha256 of the browser secret, base64url. */
  browserHash: z.string(),
  verifier: z.string().min(43),
  issuer: z.string(),
  clientId: z.string(),
  resource: z.string().optional(),
  createdAt: z.number(),
  expiresAt: z.number(),
  context: z.unknown().optional(),
  usedAt: z.number().optional(),
});
export type PendingLink = z.infer<typeof pendingSchema>;

export const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
export const stateKey = (state: string) => `oauth-state:${sha256(state)}`;
export const signInKey = (flowId: string) => `oauth-sign-in:${sha256(flowId)}`;

/** Constant time: how long the comparison takes says nothing about how close a guess was. */
export function isSameBrowser(browserSecret: string | undefined, browserHash: string): boolean {
  if (browserSecret === undefined) return false;
  const presented = createHash('sha256').update(browserSecret).digest();
  const expected = Buffer.from(browserHash, 'base64url');
  return expected.length === presented.length && timingSafeEqual(presented, expected);
}
