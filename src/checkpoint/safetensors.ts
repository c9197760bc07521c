// safetensors: an 8-byte little-endian header length N, N bytes of JSON, then the data buffer.
// Each tensor's `data_offsets` are relative to the start of the data buffer. The header is parsed and
// validated alone; tensor bytes are read lazily, by offset, straight into a buffer the caller provides.
import { closeSync, fstatSync, openSync, read, readSync, statSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { GptOssError } from "../util/errors.js";

/** Byte size of one element for every dtype the format defines (sub-byte types as fractions). */
export const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F8_E4M3FNUZ: 8, F8_E5M2FNUZ: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16,
  I32: 32, U32: 32, F32: 32,
  I64: 64, U64: 64, F64: 64, C64: 64,
  F4: 4, F6_E2M3: 6, F6_E3M2: 6,
};

export const MAX_HEADER_BYTES = 100_000_000;
/** fs.readSync cannot move more than ~2 GiB at once; stay well under it. */
export const MAX_READ_CHUNK = 1 << 30;

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** absolute byte offset of the first byte in the file */
  offset: number;
  byteLength: number;
}

export class SafetensorsError extends GptOssError {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
  }
}

export function tensorByteLength(dtype: string, shape: readonly number[]): number {
  const bits = DTYPE_BITS[dtype];
  if (bits === undefined) throw new Error(`unknown dtype ${dtype}`);
  const elements = shape.reduce((a, b) => a * b, 1);
  return Math.ceil((elements * bits) / 8);
}

/** An open safetensors file: header parsed and checked, data read on demand. */
export class SafetensorsFile {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Record<string, string> | undefined;
  readonly fileSize: number;
  /** largest single read (fs.readSync cannot move 2 GiB at once); settable for tests */
  maxChunk = MAX_READ_CHUNK;
  private fd: number | null;

  private constructor(readonly path: string, fd: number, fileSize: number, tensors: Map<string, TensorInfo>,
    metadata: Record<string, string> | undefined) {
    this.fd = fd;
    this.fileSize = fileSize;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      // Before opening: opening a FIFO blocks until something writes to it, and a folder opens fine.
      const st = statSync(path);
      if (!st.isFile()) throw new SafetensorsError(path, `is ${st.isDirectory() ? "a folder" : st.isFIFO() ? "a named pipe (FIFO)" : "not a regular file"}; expected a safetensors file`);
      fd = openSync(path, "r");
    } catch (e) {
      if (e instanceof SafetensorsError) throw e;
      throw new SafetensorsError(path, `cannot open: ${(e as Error).message}`);
    }
    try {
      const { tensors, metadata, fileSize } = parseHeader(path, fd);
      return new SafetensorsFile(path, fd, fileSize, tensors, metadata);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  get(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new SafetensorsError(this.path, `no tensor named "${name}"`);
    return t;
  }

  /** Reads the tensor's bytes into `target` (whose length must equal the tensor's byte length). */
  readInto(name: string, target: Uint8Array): void {
    const t = this.get(name);
    if (target.byteLength !== t.byteLength) {
      throw new SafetensorsError(this.path, `tensor "${name}" has ${t.byteLength} bytes, target holds ${target.byteLength}`);
    }
    this.readRange(t.offset, target, name);
  }

  /** Reads `target.byteLength` bytes at absolute file offset `offset`, in chunks of at most 1 GiB. */
  readRange(offset: number, target: Uint8Array, what = "data"): void {
    if (this.fd === null) throw new SafetensorsError(this.path, "file is closed");
    let done = 0;
    while (done < target.byteLength) {
      const want = Math.min(this.maxChunk, target.byteLength - done);
      const got = readSync(this.fd, target, done, want, offset + done);
      if (got === 0) throw new SafetensorsError(this.path, `unexpected end of file while reading ${what}`);
      done += got;
    }
  }

  /** readRange without blocking: the read runs on the runtime's I/O threads, so several can be in flight. */
  async readRangeAsync(offset: number, target: Uint8Array, what = "data"): Promise<void> {
    let done = 0;
    while (done < target.byteLength) {
      const fd = this.fd;
      if (fd === null) throw new SafetensorsError(this.path, "file is closed");
      const want = Math.min(this.maxChunk, target.byteLength - done);
      const got = await new Promise<number>((resolve, reject) =>
        read(fd, target, done, want, offset + done, (e, n) => (e ? reject(new SafetensorsError(this.path, `cannot read ${what}: ${e.message}`)) : resolve(n))));
      if (got === 0) throw new SafetensorsError(this.path, `unexpected end of file while reading ${what}`);
      done += got;
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function parseHeader(path: string, fd: number) {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 8) throw new SafetensorsError(path, `file is ${fileSize} bytes, too short for a safetensors header`);
  const lenBytes = new Uint8Array(8);
  readSync(fd, lenBytes, 0, 8, 0);
  const headerLen = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES) {
    throw new SafetensorsError(path, `header length ${headerLen} exceeds the format's limit of ${MAX_HEADER_BYTES} bytes (corrupt or not a safetensors file)`);
  }
  if (8 + headerLen > fileSize) {
    throw new SafetensorsError(path, `header length ${headerLen} runs past the end of the ${fileSize}-byte file (truncated or not a safetensors file)`);
  }
  const headerBytes = new Uint8Array(headerLen);
  readSync(fd, headerBytes, 0, headerLen, 8);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw new SafetensorsError(path, `header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new SafetensorsError(path, "header is not a JSON object");
  }
  const dataStart = 8 + headerLen;
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> | undefined;
  const spans: { begin: number; end: number; name: string }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === "string")) {
        throw new SafetensorsError(path, "__metadata__ must be an object of strings");
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const where = `tensor "${name}"`;
    if (!info || typeof info !== "object") throw new SafetensorsError(path, `${where}: entry is not an object`);
    if (typeof info.dtype !== "string") throw new SafetensorsError(path, `${where}: missing dtype`);
    if (DTYPE_BITS[info.dtype] === undefined) throw new SafetensorsError(path, `${where}: unknown dtype "${info.dtype}"`);
    if (!Array.isArray(info.shape) || !info.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(path, `${where}: shape must be a list of non-negative integers`);
    }
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(path, `${where}: data_offsets must be [begin, end]`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) throw new SafetensorsError(path, `${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataSize) {
      throw new SafetensorsError(path, `${where}: data_offsets [${begin}, ${end}] run past the data buffer of ${dataSize} bytes (file truncated?)`);
    }
    const expected = tensorByteLength(info.dtype, info.shape as number[]);
    if (expected !== end - begin) {
      throw new SafetensorsError(path, `${where}: dtype ${info.dtype} x shape [${(info.shape as number[]).join(", ")}] is ${expected} bytes but data_offsets span ${end - begin}`);
    }
    tensors.set(name, { name, dtype: info.dtype, shape: info.shape as number[], offset: dataStart + begin, byteLength: end - begin });
    spans.push({ begin, end, name });
  }
  // The tensors must tile the data buffer exactly: no overlaps, no holes, nothing left over.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const s of spans) {
    if (s.begin < cursor) throw new SafetensorsError(path, `tensor "${s.name}" overlaps the previous tensor (offset ${s.begin} < ${cursor})`);
    if (s.begin > cursor) throw new SafetensorsError(path, `hole in the data buffer before tensor "${s.name}" (bytes ${cursor}..${s.begin} belong to no tensor)`);
    cursor = s.end;
  }
  if (cursor !== dataSize) {
    throw new SafetensorsError(path, `data buffer is ${dataSize} bytes but the tensors cover ${cursor} (${dataSize > cursor ? "trailing bytes" : "truncated"})`);
  }
  return { tensors, metadata, fileSize };
}

// ---- writing -----------------------------------------------------------------------------------

export interface TensorToWrite {
  name: string;
  dtype: string;
  shape: number[];
  /** the bytes, or a function that fills a buffer of the tensor's byte length (for large tensors) */
  data: Uint8Array | ArrayBufferView | ((out: Uint8Array) => void);
}

/** The bytes before the data buffer (8-byte length + JSON header padded with spaces to a multiple of 8,
 * so the data starts 8-aligned) for tensors stored in the order given, and the data buffer's size. */
export function encodeSafetensorsHeader(tensors: readonly { name: string; dtype: string; shape: number[] }[],
  metadata?: Record<string, string>): { prefix: Uint8Array; dataBytes: number } {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const n = tensorByteLength(t.dtype, t.shape);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((json.length + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const prefix = new Uint8Array(8 + headerBytes.length);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  prefix.set(headerBytes, 8);
  return { prefix, dataBytes: offset };
}

/** Writes a safetensors file; tensors are written in the order given, the header padded to 8 bytes. */
export function writeSafetensors(path: string, tensors: TensorToWrite[], metadata?: Record<string, string>): void {
  const { prefix } = encodeSafetensorsHeader(tensors, metadata);
  const fd = openSync(path, "w");
  try {
    writeSync(fd, prefix);
    for (const t of tensors) {
      const n = tensorByteLength(t.dtype, t.shape);
      let bytes: Uint8Array;
      if (typeof t.data === "function") {
        bytes = new Uint8Array(n);
        t.data(bytes);
      } else {
        bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      }
      if (bytes.byteLength !== n) throw new Error(`${path}: tensor "${t.name}" has ${bytes.byteLength} bytes, expected ${n}`);
      for (let done = 0; done < n; ) done += writeSync(fd, bytes, done, Math.min(MAX_READ_CHUNK, n - done));
    }
  } finally {
    closeSync(fd);
  }
}

export interface StreamedTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** Fills `out` with the tensor's next `out.byteLength` bytes: called in order, chunk by chunk, so a
   * tensor of any size is produced without ever being whole in memory. `out` may start at any byte. */
  fill(out: Uint8Array): void;
}

export interface StreamWriteOptions {
  metadata?: Record<string, string>;
  /** bytes per write (default 32 MiB); two such buffers are in use */
  chunkBytes?: number;
  /** called as data reaches the file, with the bytes of this call */
  onBytes?: (bytes: number) => void;
}

/**
 * Writes a safetensors file of any size with two fixed buffers: while one buffer is being written (by
 * the I/O thread pool), the next is filled, so producing data and writing it overlap. Returns the
 * file size.
 */
export async function writeSafetensorsStreaming(path: string, tensors: readonly StreamedTensor[], options: StreamWriteOptions = {}): Promise<number> {
  const { prefix, dataBytes } = encodeSafetensorsHeader(tensors, options.metadata);
  const chunk = Math.max(8, (options.chunkBytes ?? 32 << 20) & ~7);
  const buffers = [new Uint8Array(chunk), new Uint8Array(chunk)];
  const fh = await open(path, "w");
  let filePos = 0;
  let pending: Promise<void> = Promise.resolve();
  const writeAll = async (bytes: Uint8Array, at: number) => {
    for (let done = 0; done < bytes.byteLength; ) {
      const { bytesWritten } = await fh.write(bytes, done, bytes.byteLength - done, at + done);
      done += bytesWritten;
    }
    options.onBytes?.(bytes.byteLength);
  };
  try {
    await writeAll(prefix, 0);
    filePos = prefix.byteLength;
    let which = 0;
    let used = 0;
    const flush = async () => {
      await pending; // the other buffer is free again
      pending = writeAll(buffers[which].subarray(0, used), filePos);
      pending.catch(() => {}); // observed at the next flush; never an unhandled rejection meanwhile
      filePos += used;
      which ^= 1;
      used = 0;
    };
    for (const t of tensors) {
      let left = tensorByteLength(t.dtype, t.shape);
      while (left > 0) {
        const take = Math.min(left, chunk - used);
        t.fill(buffers[which].subarray(used, used + take));
        used += take;
        left -= take;
        if (used === chunk) await flush();
      }
    }
    if (used > 0) await flush();
    await pending;
  } finally {
    await pending.catch(() => {});
    await fh.close();
  }
  if (filePos !== prefix.byteLength + dataBytes) throw new Error(`${path}: wrote ${filePos} bytes, expected ${prefix.byteLength + dataBytes}`);
  return filePos;
}
