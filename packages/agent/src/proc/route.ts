// /proc/net/route (IPv4, main table only): tab-separated with a header;
// Destination, Gateway and Mask are host-order hex words like the socket tables.
import { decodeProcSocketAddress, formatAddress, prefixLengthOfNetmask, type Route } from '@dualstack/core';
import { ProcParseError, fields, hexField } from './errors.js';
import { readProcText, type ProcRoot } from './root.js';

const FILE = 'net/route';
const COLUMNS = ['Iface', 'Destination', 'Gateway', 'Flags', 'RefCnt', 'Use', 'Metric', 'Mask'];
const RTF_GATEWAY = 0x2;
const RTF_REJECT = 0x200;

export function parseIpv4Route(text: string, file = FILE): Route[] {
  const out: Route[] = [];
  text.split('\n').forEach((rawLine, index) => {
    if (rawLine.trim() === '' || (index === 0 && rawLine.startsWith('Iface'))) return;
    const line = index + 1;
    const f = fields(rawLine);
    if (f.length < 8) throw new ProcParseError({ file, line, field: COLUMNS[f.length] ?? 'Mask', raw: rawLine, reason: 'missing' });
    const at = (field: string) => ({ file, line, field, rawLine });
    hexField(f[1], at('Destination'), 8);
    hexField(f[2], at('Gateway'), 8);
    const flags = hexField(f[3], at('Flags'));
    const metric = Number(f[6]);
    if (!/^\d+$/.test(f[6]!)) throw new ProcParseError({ file, line, field: 'Metric', raw: rawLine, reason: 'expected a decimal number' });
    hexField(f[7], at('Mask'), 8);
    const prefixLength = prefixLengthOfNetmask(decodeProcSocketAddress(f[7]!, 4));
    if (prefixLength === null) throw new ProcParseError({ file, line, field: 'Mask', raw: rawLine, reason: 'not a contiguous netmask' });
    out.push({
      family: 4,
      destination: formatAddress(decodeProcSocketAddress(f[1]!, 4)),
      prefixLength,
      gateway: (flags & RTF_GATEWAY) !== 0 ? formatAddress(decodeProcSocketAddress(f[2]!, 4)) : null,
      interface: f[0]!,
      metric,
      flags: [(flags & 1) !== 0 && 'up', (flags & RTF_GATEWAY) !== 0 && 'gateway', (flags & 4) !== 0 && 'host', (flags & RTF_REJECT) !== 0 && 'reject'].filter(
        (x): x is string => typeof x === 'string',
      ),
      origin: (flags & RTF_REJECT) !== 0 ? 'reject' : (flags & RTF_GATEWAY) !== 0 ? 'static' : 'kernel',
      expires: false,
    });
  });
  return out;
}

export function readIpv4Route(root: ProcRoot): Route[] | null {
  const text = readProcText(root, FILE);
  return text === null ? null : parseIpv4Route(text);
}
