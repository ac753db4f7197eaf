// For block-structured configurations (nginx, Apache httpd) whose include lines may stand
// inside a block: an included file's directives are inside the block that holds the include.
// Each file is parsed on its own (the parsers are pure), so a directive only knows the blocks
// of its own file; after IncludeWalker has spliced the files together, this puts the blocks
// of the including lines in front of them.
import type { ConfigDirective } from '@dualstack/core';
import type { EtcRoot } from './etc-root.js';

/** One enclosing block: `server`, `location /admin`, `VirtualHost *:80`, ... where it opens. */
export interface Block {
  name: string;
  args: string;
  file: string;
  line: number;
}

/** A directive with the blocks around it (outermost first); `include` is set on include lines. */
export interface BlockDirective extends ConfigDirective {
  blocks: Block[];
  /** The include pattern of an include line (unquoted), which the parser also lists in `includes`. */
  include?: string;
}

/**
 * Gives every directive its whole block path across include files. `items` is IncludeWalker's
 * output: each include line is itself an item, followed by the items of the files it names
 * (in the order `etc.expand` lists them, which is the order the walker read them).
 */
export function withIncludedBlocks(items: BlockDirective[], etc: EtcRoot, baseDir: string): BlockDirective[] {
  if (items.length === 0) return [];
  interface Frame {
    file: string;
    prefix: Block[];
    open: { targets: Set<string>; prefix: Block[] } | null;
  }
  const stack: Frame[] = [{ file: items[0]!.file, prefix: [], open: null }];
  const out: BlockDirective[] = [];
  for (const item of items) {
    for (;;) {
      const top = stack[stack.length - 1]!;
      if (top.file === item.file) break;
      if (top.open?.targets.has(item.file)) {
        stack.push({ file: item.file, prefix: top.open.prefix, open: null });
        break;
      }
      if (stack.length === 1) {
        // Not reachable from the walker's output; keep the item with its own blocks only.
        stack[0] = { file: item.file, prefix: [], open: null };
        break;
      }
      stack.pop();
    }
    const frame = stack[stack.length - 1]!;
    const blocks = [...frame.prefix, ...item.blocks];
    frame.open = item.include !== undefined ? { targets: new Set(etc.expand(item.include, baseDir)), prefix: blocks } : null;
    out.push({ ...item, blocks });
  }
  return out;
}

/** The report's form of a directive: the fields of ConfigDirective only. */
export function plainDirective(d: BlockDirective, context: string | undefined): ConfigDirective {
  return { file: d.file, line: d.line, key: d.key, value: d.value, raw: d.raw, ...(context !== undefined ? { context } : {}) };
}
