/**
 * Which kind of zip package an attachment is, by its contents rather than its name or MIME type
 * (both are often wrong): OpenDocument says so in its `mimetype` file; Office Open XML names its
 * main part in `_rels/.rels` and gives that part's type in `[Content_Types].xml`.
 */
import { readOpenDocument } from './odf.js';
import type { PackageReader } from './package.js';
import { readSlides, readWord } from './word.js';
import { readWorkbook } from './xlsx.js';
import { attribute } from './xml.js';
import { Unscannable } from './zip.js';

async function contentTypeOf(reader: PackageReader, part: string): Promise<string> {
  let found = '';
  const wanted = `/${part}`.toLowerCase();
  await reader.pkg.parse('[Content_Types].xml', {
    open(name, attributes) {
      if (name === 'Override' && attribute(attributes, 'PartName')?.toLowerCase() === wanted) {
        found = attribute(attributes, 'ContentType') ?? '';
      }
    },
  });
  return found;
}

export async function readOfficePackage(reader: PackageReader): Promise<void> {
  const mimetype = (await reader.pkg.read('mimetype'))?.trim();
  if (mimetype?.startsWith('application/vnd.oasis.opendocument.')) return readOpenDocument(reader, mimetype);

  const main = (await reader.relationships('')).find((rel) => rel.type === 'officeDocument')?.target;
  if (main === undefined || !reader.pkg.has(main)) {
    throw new Unscannable('unreadable: a zip archive, not an Office or OpenDocument file');
  }
  // Parts are named by convention (xl/, word/, ppt/) when a producer leaves the type out.
  const type = `${await contentTypeOf(reader, main)} ${main}`;
  if (/spreadsheetml|ms-excel|^ xl\//i.test(type)) return readWorkbook(reader, main);
  if (/wordprocessingml|ms-word|^ word\//i.test(type)) return readWord(reader, main);
  if (/presentationml|ms-powerpoint|^ ppt\//i.test(type)) return readSlides(reader, main);
  throw new Unscannable('unreadable: an Office package of a kind not read (not Word, Excel or PowerPoint)');
}
