/**
 * File types that run code, told from a file name or from the file's first bytes. Used by the
 * parse stage (archive entries, whose names are not kept) and by the acceptable-use detector
 * (attachments, whose names are). Only extensions and kinds leave this module, never names.
 */
import type { RiskyKind } from '../types.js';

/**
 * Programs, installers, shortcuts and disk images: they run (or mount and run) when opened on
 * Windows or macOS, and nothing about them is readable text.
 */
const PROGRAMS = [
  'exe', 'scr', 'com', 'pif', 'cpl', 'dll', 'ocx', 'sys', 'drv', 'xll', 'wll',
  'msi', 'msp', 'mst', 'msc', 'lnk', 'scf', 'jar', 'chm', 'gadget', 'application',
  'appx', 'appxbundle', 'msix', 'msixbundle', 'appinstaller', 'settingcontent-ms',
  'iso', 'img', 'vhd', 'vhdx', 'dmg', 'pkg', 'apk', 'xbap',
] as const;

/**
 * Scripts the Windows Script Host, PowerShell, mshta or the registry editor run on a double click.
 * Not `.py`, `.sh`, `.rb`: nothing runs them on a double click on a school PC, and pupils'
 * coding projects are full of them.
 */
const SCRIPTS = [
  'bat', 'cmd', 'vbs', 'vbe', 'js', 'jse', 'wsf', 'wsh', 'ws', 'wsc', 'sct', 'hta',
  'ps1', 'psm1', 'ps1xml', 'psc1', 'msh', 'msh1', 'msh2', 'reg',
] as const;

/** Office formats whose extension says they carry macros (Office refuses macros under the plain names). */
const MACRO_DOCUMENTS = [
  'docm', 'dotm', 'xlsm', 'xltm', 'xlam', 'pptm', 'potm', 'ppsm', 'ppam', 'sldm',
] as const;

/** Extensions a disguised program borrows to look harmless: `report.pdf.exe`. */
const DECOYS = new Set([
  'pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'odt', 'ods', 'odp', 'rtf', 'txt', 'csv',
  'jpg', 'jpeg', 'png', 'gif', 'bmp', 'tif', 'tiff', 'heic', 'webp', 'svg',
  'mp3', 'mp4', 'm4a', 'wav', 'avi', 'mov', 'wmv', 'mkv', 'htm', 'html', 'eml', 'ics', 'zip',
]);

const KIND = new Map<string, RiskyKind>([
  ...PROGRAMS.map((e): [string, RiskyKind] => [e, 'program']),
  ...SCRIPTS.map((e): [string, RiskyKind] => [e, 'script']),
  ...MACRO_DOCUMENTS.map((e): [string, RiskyKind] => [e, 'macro_document']),
]);

export function kindOfExtension(extension: string): RiskyKind | undefined {
  return KIND.get(extension);
}

/** Bidi embeddings, overrides and isolates: `invoice\u202Efdp.exe` shows as `invoiceexe.pdf`. */
const BIDI = /[\u202a-\u202e\u2066-\u2069]/;
/** Characters that render as nothing or as blank space, which Windows keeps in file names. */
const BLANK = /[\s\u00a0\u115f\u1160\u2000-\u200f\u2028-\u202f\u205f-\u206f\u2800\u3000\u3164\ufeff\uffa0]/;
const BLANK_RUN_END = /[\s\u00a0\u115f\u1160\u2000-\u200f\u2028-\u202f\u205f-\u206f\u2800\u3000\u3164\ufeff\uffa0]{3,}$/;
const TRAILING = /[\s.\u00a0\u115f\u1160\u2000-\u200f\u2028-\u202f\u205f-\u206f\u2800\u3000\u3164\ufeff\uffa0]+$/;

export interface NameFacts {
  /** The extension Windows acts on, lower-cased (`exe`), or '' when there is none. */
  extension: string;
  kind?: RiskyKind;
  /**
   * How a program's or script's name hides what it is: a decoy extension before the real one
   * (`pdf` in `report.pdf.exe`), a run of blank characters before it, or a bidi override that makes
   * it display backwards.
   */
  disguise?: { how: 'decoy' | 'padding' | 'bidi'; decoy?: string };
}

/** What a file name says about the file; never returns any part of the name but extensions. */
export function nameFacts(name: string): NameFacts {
  // Windows drops trailing dots and spaces, so `setup.exe .` runs as setup.exe. Bidi controls
  // only change how the name is shown; the extension is read without them.
  const visible = name.replace(/[\u202a-\u202e\u2066-\u2069]/g, '');
  const base = visible.replace(TRAILING, '');
  const slash = Math.max(base.lastIndexOf('/'), base.lastIndexOf('\\'));
  const leaf = base.slice(slash + 1);
  const dot = leaf.lastIndexOf('.');
  if (dot < 0) return { extension: '' };
  const extension = leaf.slice(dot + 1).toLowerCase();
  if (BLANK.test(extension)) return { extension: '' };
  const kind = kindOfExtension(extension);
  const facts: NameFacts = kind ? { extension, kind } : { extension };
  if (kind !== 'program' && kind !== 'script') return facts;
  const stem = leaf.slice(0, dot);
  if (BIDI.test(name)) facts.disguise = { how: 'bidi' };
  else if (BLANK_RUN_END.test(stem)) facts.disguise = { how: 'padding' };
  else {
    const inner = stem.lastIndexOf('.');
    const decoy = inner >= 0 ? stem.slice(inner + 1).trim().toLowerCase() : '';
    if (DECOYS.has(decoy)) facts.disguise = { how: 'decoy', decoy };
  }
  return facts;
}

/** A program's header at the start of the bytes: what the file really is, whatever it is called. */
export type ExecutableFormat = 'pe' | 'elf' | 'mach-o';

export function executableFormat(bytes: Uint8Array): ExecutableFormat | undefined {
  if (bytes.byteLength < 64) return undefined;
  const b0 = bytes[0]!;
  const b1 = bytes[1]!;
  const b2 = bytes[2]!;
  const b3 = bytes[3]!;
  if (b0 === 0x4d && b1 === 0x5a) {
    // `MZ` alone is two letters a text file can start with: a Windows program's DOS header
    // points (e_lfanew, at 0x3c) to a `PE\0\0` signature.
    const at = bytes[0x3c]! | (bytes[0x3d]! << 8) | (bytes[0x3e]! << 16) | (bytes[0x3f]! << 24);
    if (at >= 0x40 && at + 4 <= bytes.byteLength) {
      if (bytes[at] === 0x50 && bytes[at + 1] === 0x45 && bytes[at + 2] === 0 && bytes[at + 3] === 0) return 'pe';
    }
    return undefined;
  }
  if (b0 === 0x7f && b1 === 0x45 && b2 === 0x4c && b3 === 0x46) return 'elf';
  // Mach-O 32/64-bit, either byte order.
  if ((b0 === 0xfe && b1 === 0xed && b2 === 0xfa && (b3 === 0xce || b3 === 0xcf)) || ((b0 === 0xce || b0 === 0xcf) && b1 === 0xfa && b2 === 0xed && b3 === 0xfe)) {
    return 'mach-o';
  }
  // A universal binary shares CA FE BA BE with Java class files; its architecture count is
  // small where a class file's version is 45 or more.
  if (b0 === 0xca && b1 === 0xfe && b2 === 0xba && b3 === 0xbe) {
    const count = (bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!;
    if (count > 0 && count < 20) return 'mach-o';
  }
  return undefined;
}
