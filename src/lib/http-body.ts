/** Bounded reading and strict decoding of document bodies fetched over HTTP. */

export class BodyTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`body exceeds ${limit} bytes`);
    this.limit = limit;
  }
}

export class NotTextError extends Error {}

/** Reads at most `limit` bytes, cancelling the download as soon as the limit is passed. */
export async function readCapped(response: Response, limit: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => {});
    throw new BodyTooLargeError(limit);
  }
  if (!response.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** UTF-8 text without NUL bytes (a cheap, reliable binary check); a leading BOM is dropped. */
export function decodeText(bytes: Uint8Array): string {
  if (bytes.includes(0)) throw new NotTextError('content contains NUL bytes');
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (error) {
    throw new NotTextError('content is not valid UTF-8', { cause: error });
  }
}
