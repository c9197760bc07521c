// A stand-in for the Hugging Face Hub on 127.0.0.1: serves a folder in the Hub's URL layout, with the
// misbehaviours the downloader must survive (cut connections, wrong sizes, missing token).
//   GET /api/models/{repo}/tree/{rev}?recursive=true   [{type, oid, size, path, lfs?}] (LFS for *.safetensors)
//   GET /api/models/{repo}/revision/{rev}              {id, sha, siblings: [{rfilename, size, blobId, lfs?}]}
//   GET /{repo}/resolve/{rev}/{path}                    the file; LFS files by a 302 to /cdn/{sha256}, as the Hub does
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative, sep } from "node:path";

export interface HubServerOptions {
  /** the folder served as the repo */
  root: string;
  repo: string;
  /** when set, every request needs `Authorization: Bearer {token}` */
  token?: string;
  /** path -> byte count: the first request for the file sends this many bytes, then drops the connection */
  cutOnce?: Record<string, number>;
  /** path -> size the listing claims (instead of the real one) */
  listedSize?: Record<string, number>;
  /** path -> sha256 the listing claims */
  listedSha256?: Record<string, string>;
  /** answer the tree endpoint with 404, so clients fall back to the siblings list */
  noTree?: boolean;
  /** answer Range requests with the whole file (200), as some proxies do */
  ignoreRange?: boolean;
  /** the commit every revision is at (default: a fixed 40-hex id) */
  commit?: string;
  /** more entries in the listings, for paths no folder can hold (a hostile server's "../../x") */
  extraListing?: { path: string; size: number }[];
  /** path -> git blob id the listing claims */
  listedBlobId?: Record<string, string>;
}

export const DEFAULT_COMMIT = "5b3d1e0f9c8a7b6d5e4f3a2b1c0d9e8f7a6b5c4d";

export interface Request {
  method: string;
  url: string;
  range?: string;
  authorization?: string;
}

export interface HubServer {
  endpoint: string;
  requests: Request[];
  close(): Promise<void>;
}

function walk(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(root, join(dir, e.name)) : [relative(root, join(dir, e.name)).split(sep).join("/")]);
}

const isLfs = (path: string) => path.endsWith(".safetensors") || path.endsWith(".bin");

export async function startHubServer(o: HubServerOptions): Promise<HubServer> {
  const requests: Request[] = [];
  const cuts = new Map(Object.entries(o.cutOnce ?? {}));
  const sha = (path: string) => createHash("sha256").update(readFileSync(join(o.root, path))).digest("hex");
  // git's id of a file: sha1 of "blob {size}\0" and the bytes
  const gitId = (path: string) => {
    const data = readFileSync(join(o.root, path));
    return createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");
  };
  const entry = (path: string) => {
    const size = o.listedSize?.[path] ?? statSync(join(o.root, path)).size;
    const lfs = isLfs(path) ? { oid: o.listedSha256?.[path] ?? sha(path), size, pointerSize: 134 } : undefined;
    return { path, size, lfs, blobId: o.listedBlobId?.[path] ?? gitId(path) };
  };
  const extra = (o.extraListing ?? []).map((e) => ({ ...e, lfs: undefined, blobId: "e".repeat(40) }));

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", range: req.headers.range, authorization: req.headers.authorization });
    const url = new URL(req.url ?? "/", "http://x");
    const p = decodeURIComponent(url.pathname);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (o.token && req.headers.authorization !== `Bearer ${o.token}` && !p.startsWith("/cdn/")) {
      return json(401, { error: "Invalid credentials in Authorization header" });
    }
    const api = `/api/models/${o.repo}/`;
    if (p.startsWith(`${api}tree/`)) {
      if (o.noTree) return json(404, { error: "Not found" });
      return json(200, [...walk(o.root).map(entry), ...extra].map((e) =>
        ({ type: "file", oid: e.blobId, size: e.size, path: e.path, ...(e.lfs ? { lfs: e.lfs } : {}) })));
    }
    if (p.startsWith(`${api}revision/`)) {
      return json(200, {
        id: o.repo,
        sha: o.commit ?? DEFAULT_COMMIT,
        siblings: [...walk(o.root).map(entry), ...extra].map((e) =>
          ({ rfilename: e.path, size: e.size, blobId: e.blobId, ...(e.lfs ? { lfs: { sha256: e.lfs.oid, size: e.size, pointerSize: 134 } } : {}) })),
      });
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/[^/]+\/(.+)$/.exec(p);
    if (resolve && resolve[1] === o.repo) {
      const path = resolve[2];
      let size: number;
      try {
        size = statSync(join(o.root, path)).size;
      } catch {
        return json(404, { error: "Entry not found" });
      }
      if (isLfs(path)) {
        res.writeHead(302, { location: `/cdn/${encodeURIComponent(path)}` });
        return res.end();
      }
      return sendFile(req, res, path, size);
    }
    if (p.startsWith("/cdn/")) {
      const path = p.slice(5);
      return sendFile(req, res, path, statSync(join(o.root, path)).size);
    }
    json(404, { error: "Repository not found" });
  });

  const sendFile = (req: IncomingMessage, res: ServerResponse, path: string, size: number) => {
    const data = readFileSync(join(o.root, path));
    let start = 0;
    const range = o.ignoreRange ? undefined : req.headers.range;
    if (range) {
      const m = /^bytes=(\d+)-$/.exec(range);
      if (!m) {
        res.writeHead(400);
        return res.end();
      }
      start = Number(m[1]);
      if (start >= size) {
        res.writeHead(416, { "content-range": `bytes */${size}` });
        return res.end();
      }
      res.writeHead(206, { "content-length": size - start, "content-range": `bytes ${start}-${size - 1}/${size}`, "accept-ranges": "bytes" });
    } else {
      res.writeHead(200, { "content-length": size, "accept-ranges": "bytes" });
    }
    const cut = cuts.get(path);
    if (cut !== undefined) {
      cuts.delete(path);
      // Send part of the body, then drop the connection mid-file.
      res.write(data.subarray(start, start + cut), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(data.subarray(start));
  };

  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
