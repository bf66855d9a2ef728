/**
 * Compound File Binary (OLE2) files: the legacy .doc/.xls/.ppt formats, and also any password-
 * protected Office Open XML file, which Office stores as an encrypted `EncryptedPackage` stream
 * inside a CFB container rather than as a zip. Neither is read; this only says which it is, and
 * whether it carries macros, from the names in the container's directory.
 */
const MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

/** Directory entries are 128 bytes in sectors of 512 or 4096 bytes after a 512-byte header. */
const HEADER_BYTES = 512;
const ENTRY_BYTES = 128;
/** Offset in a directory entry of the name's length in bytes, terminating NUL included. */
const NAME_LENGTH_AT = 64;

export function isCfb(bytes: Uint8Array): boolean {
  return bytes.byteLength >= HEADER_BYTES && MAGIC.every((b, i) => bytes[i] === b);
}

/** True when the container's directory has an entry with this name (not merely the text). */
function hasStream(bytes: Uint8Array, name: string): boolean {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const needle = Buffer.from(name, 'utf16le');
  for (let at = buffer.indexOf(needle, HEADER_BYTES); at >= 0; at = buffer.indexOf(needle, at + 2)) {
    if ((at - HEADER_BYTES) % ENTRY_BYTES !== 0 || at + NAME_LENGTH_AT + 2 > buffer.length) continue;
    if (buffer.readUInt16LE(at + NAME_LENGTH_AT) === (name.length + 1) * 2) return true;
  }
  return false;
}

/**
 * Word keeps VBA in a `Macros` storage, Excel in `_VBA_PROJECT_CUR`; both hold a `VBA` storage and
 * a `_VBA_PROJECT` stream.
 */
const VBA_NAMES = ['VBA', '_VBA_PROJECT', '_VBA_PROJECT_CUR', 'Macros'];

export function cfbHasMacros(bytes: Uint8Array): boolean {
  return isCfb(bytes) && VBA_NAMES.some((name) => hasStream(bytes, name));
}

/** The skip reason for a CFB file: `encrypted`, or which legacy format it is. */
export function cfbSkipReason(bytes: Uint8Array): string {
  if (hasStream(bytes, 'EncryptedPackage')) return 'encrypted';
  if (hasStream(bytes, 'WordDocument')) return 'legacy Word 97-2003 document (.doc); no text extractor';
  if (hasStream(bytes, 'Workbook') || hasStream(bytes, 'Book')) {
    return 'legacy Excel 97-2003 workbook (.xls); no text extractor';
  }
  if (hasStream(bytes, 'PowerPoint Document')) return 'legacy PowerPoint 97-2003 presentation (.ppt); no text extractor';
  return 'legacy Office binary (OLE) file; no text extractor';
}
