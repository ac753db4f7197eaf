// Servers the prober tests probe, on 127.0.0.1 and ::1 (port 0): certificates made by openssl
// in a temp dir (a CA and a leaf signed by it, or a self-signed leaf), and a listener helper
// that closes what it opened.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { TestContext } from 'node:test';

export interface Certs {
  ca: string;
  /** Signed by `ca`, for `names` (the first is the CN). */
  key: string;
  cert: string;
  /** Self-signed, for the same names: no CA vouches for it. */
  selfKey: string;
  selfCert: string;
  /** openssl's SHA-256 fingerprint of `cert`, colon-separated upper-case hex (as node prints it). */
  fingerprint256: string;
}

/** Makes the certificates with openssl (a real X.509 toolchain, not a fixture). */
export function makeCerts(names: string[]): Certs {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-probe-certs-'));
  try {
    const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    const san = names.map((n) => `DNS:${n}`).join(',');
    ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=dualstack test CA/O=dualstack tests');
    ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${names[0]}`);
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${san}\n`);
    ossl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2', '-extfile', 'ext.cnf');
    ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'self.key', '-out', 'self.pem', '-days', '2', '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${san}`);
    const fingerprint = ossl('x509', '-in', 'leaf.pem', '-noout', '-fingerprint', '-sha256').trim().split('=')[1]!;
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    return { ca: read('ca.pem'), key: read('leaf.key'), cert: read('leaf.pem'), selfKey: read('self.key'), selfCert: read('self.pem'), fingerprint256: fingerprint };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Listens on `host` port 0; closed (and its connections dropped) after the test. */
export async function listen(t: TestContext, server: Server, host: '127.0.0.1' | '::1'): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

export const FAMILIES = [
  { family: 4 as const, host: '127.0.0.1' as const },
  { family: 6 as const, host: '::1' as const },
];
