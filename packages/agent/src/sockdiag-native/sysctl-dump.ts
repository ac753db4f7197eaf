// The sysctls the native module read inside a namespace, as the grep dump the nsenter batch
// prints (`/proc/sys/net/ipv6/conf/eth0/accept_ra:1`), so both paths meet in sysctlsFromDump
// and a capture's sysctl.txt keeps its format.

/** Flat (path, value, ...) pairs to grep -H lines. Pure. */
export function grepDumpOfPairs(pairs: readonly string[]): string {
  let text = '';
  for (let i = 0; i + 1 < pairs.length; i += 2) text += `${pairs[i]}:${pairs[i + 1]}\n`;
  return text;
}
