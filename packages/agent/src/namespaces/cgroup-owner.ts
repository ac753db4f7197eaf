// Who runs a process, from the cgroup path in /proc/[pid]/cgroup: the container runtimes name
// their cgroups after the container (and the kubelet after the pod), so one line says which
// container or pod a network namespace belongs to. Pure: parseCgroupOwner(text).
// The forms, as they appear in real files (test/… cgroup-owner.test.ts cites each):
//   docker, cgroupfs driver      /docker/<64 hex>                       (v1 lines; v2 the same)
//   docker, systemd driver       /system.slice/docker-<64 hex>.scope
//   containerd CRI, systemd      …/kubepods-<qos>-pod<uid, _ for ->.slice/cri-containerd-<64 hex>.scope
//   containerd CRI on cgroup v1  /kubepods-<qos>-pod<uid>.slice:cri-containerd:<64 hex>  (cgroupsPath unexpanded)
//   cri-o                        …/kubepods-<qos>-pod<uid>.slice/crio-<64 hex>.scope
//   kubelet, cgroupfs driver     /kubepods/<qos>/pod<uid>/<64 hex>      (guaranteed pods: /kubepods/pod<uid>/<id>)
//   podman                       …/machine.slice/libpod-<64 hex>.scope[/container]
//   lxc                          /lxc.payload.<name>/…  (LXC 4+), /lxc/<name>/… (older)
//   systemd-nspawn               /machine.slice/machine-<name, systemd-escaped>.scope/…
import { ProcParseError } from '../proc/errors.js';

export type ContainerRuntime = 'docker' | 'containerd' | 'podman' | 'kubernetes' | 'lxc' | 'nspawn';

export interface CgroupOwner {
  runtime: ContainerRuntime;
  /** Container id (64 hex digits) for docker, containerd, podman and pods; null for lxc and nspawn. */
  id: string | null;
  /** The machine or container name the path carries (lxc, nspawn). */
  name: string | null;
  /** For a pod: its UID (dashes restored) and the engine running its containers. */
  pod?: { uid: string; engine: 'containerd' | 'cri-o' | 'docker' | null };
  /** The cgroup path it was read from. */
  path: string;
}

const ID = '[0-9a-f]{64}';
const SCOPE_ID = new RegExp(`^(docker|cri-containerd|crio|libpod)-(${ID})\\.scope$`);
const COLON_ID = new RegExp(`^(.+\\.slice):(cri-containerd|crio|docker):(${ID})$`);
const BARE_ID = new RegExp(`^${ID}$`);
const LIBPOD = new RegExp(`^libpod-${ID}$`);
// kubepods-pod<uid>.slice (guaranteed), kubepods-besteffort-pod<uid>.slice, kubepods-burstable-pod<uid>.slice;
// static pods have a 32-hex UID (the config hash), the others a UUID written with _ for -.
const POD_SLICE = /^kubepods(?:-besteffort|-burstable)?-pod([0-9a-f_]+)\.slice$/;
const POD_DIR = /^pod([0-9a-f-]+)$/;

const engineOf = { 'cri-containerd': 'containerd', crio: 'cri-o', docker: 'docker', libpod: null } as const;

/**
 * The container or pod a process belongs to, or null for a process of the host (or a cgroup
 * layout none of the runtimes writes). The v2 line (0::) is tried first, then the v1 lines in
 * order: on a v1 host with cgroup v2 mounted beside it, the v2 line may name only the runtime's
 * service (0::/system.slice/containerd.service) while the v1 lines name the container.
 * Throws ProcParseError on a line that is not hierarchy-ID:controllers:path.
 */
export function parseCgroupOwner(text: string, file = 'cgroup'): CgroupOwner | null {
  const paths: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (line === '') return;
    const first = line.indexOf(':');
    const second = first === -1 ? -1 : line.indexOf(':', first + 1);
    if (first <= 0 || second === -1 || !/^\d+$/.test(line.slice(0, first)) || !line.startsWith('/', second + 1)) {
      throw new ProcParseError({ file, line: index + 1, field: 'line', raw: line, reason: 'expected hierarchy-ID:controller-list:/path' });
    }
    const path = line.slice(second + 1);
    if (line.startsWith('0::')) paths.unshift(path);
    else paths.push(path);
  });
  for (const path of paths) {
    const owner = ownerOfPath(path);
    if (owner) return owner;
  }
  return null;
}

/**
 * One cgroup path's owner; null when no runtime's form matches. The innermost match wins: a pod
 * inside a kind node (itself a docker container) belongs to the pod. Pure.
 */
export function ownerOfPath(path: string): CgroupOwner | null {
  const parts = path.split('/').filter(Boolean);
  let podUid: string | null = null;
  let inKubepods = false;
  let found: CgroupOwner | null = null;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.startsWith('kubepods')) inKubepods = true;
    const slice = POD_SLICE.exec(part);
    if (slice) podUid = podUidOf(slice[1]!);
    const dir = inKubepods ? POD_DIR.exec(part) : null;
    if (dir) podUid = dir[1]!;
    found = ownerOfPart(parts, i, podUid, path) ?? found;
  }
  return found;
}

function ownerOfPart(parts: string[], i: number, podUid: string | null, path: string): CgroupOwner | null {
  const part = parts[i]!;
  const colon = COLON_ID.exec(part);
  if (colon) {
    const uid = POD_SLICE.exec(colon[1]!);
    return uid ? pod(podUidOf(uid[1]!), colon[3]!, engineOf[colon[2] as 'cri-containerd' | 'crio' | 'docker'], path) : null;
  }
  const scoped = SCOPE_ID.exec(part);
  if (scoped) {
    const kind = scoped[1] as keyof typeof engineOf;
    const id = scoped[2]!;
    if (podUid !== null) return pod(podUid, id, engineOf[kind], path);
    if (kind === 'docker') return { runtime: 'docker', id, name: null, path };
    if (kind === 'libpod') return { runtime: 'podman', id, name: null, path };
    if (kind === 'cri-containerd') return { runtime: 'containerd', id, name: null, path };
    return null; // cri-o outside a pod: not a layout we know
  }
  if (BARE_ID.test(part)) {
    if (podUid !== null) return pod(podUid, part, null, path);
    const parent = parts[i - 1];
    if (parent === 'docker') return { runtime: 'docker', id: part, name: null, path };
    // containerd's own namespaces under its service (ctr, nerdctl with cgroupfs): /<namespace>/<id>
    if (parts.includes('containerd.service') || parent === 'k8s.io' || parent === 'moby') return { runtime: 'containerd', id: part, name: null, path };
    return null;
  }
  if (LIBPOD.test(part)) return { runtime: 'podman', id: part.slice(7), name: null, path };
  if (part.startsWith('lxc.payload.') && part.length > 12) return { runtime: 'lxc', id: null, name: part.slice(12), path };
  if ((part === 'lxc.payload' || part === 'lxc') && parts[i + 1]) return { runtime: 'lxc', id: null, name: parts[i + 1]!, path };
  if (parts[i - 1] === 'machine.slice' && part.startsWith('machine-') && part.endsWith('.scope')) {
    return { runtime: 'nspawn', id: null, name: unescapeUnitName(part.slice(8, -6)), path };
  }
  return null;
}

function pod(uid: string, id: string, engine: 'containerd' | 'cri-o' | 'docker' | null, path: string): CgroupOwner {
  return { runtime: 'kubernetes', id, name: null, pod: { uid, engine }, path };
}

/** The kubelet's systemd driver writes the UID with _ for - (a - in a slice name means nesting). */
function podUidOf(written: string): string {
  return written.replace(/_/g, '-');
}

/** systemd-escape's \xNN sequences (a - in a machine name is written \x2d). */
function unescapeUnitName(name: string): string {
  return name.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
