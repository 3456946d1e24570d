// Relation expansion, field picking, files (uploads, downloads, thumbs,
// protected files) and batch requests through the official pocketbase SDK,
// against a real hatchgrid server on each dialect.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';

import { ClientResponseError } from 'pocketbase';

import { dialects, startServer } from './harness.mjs';

async function rejectsWith(promise, status) {
  const err = await promise.then(
    (value) => assert.fail(`expected ${status}, got success: ${JSON.stringify(value)}`),
    (e) => e,
  );
  assert.ok(err instanceof ClientResponseError, `expected a ClientResponseError, got ${err?.stack || err}`);
  assert.equal(err.status, status, `status; response: ${JSON.stringify(err.response)}`);
  return err;
}

// ---------------------------------------------------------------------------
// A tiny PNG encoder: 8-bit RGB, no interlace, one IDAT chunk.

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_SIGNATURE = Buffer.from([0xff, 0xd8, 0xff]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid width x height RGB PNG with a gradient; `seed` varies the blue channel. */
function makePNG(width, height, seed = 0) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  const stride = width * 3 + 1;
  const raw = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    raw[y * stride] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const o = y * stride + 1 + x * 3;
      raw[o] = (x * 4) & 0xff;
      raw[o + 1] = (y * 4) & 0xff;
      raw[o + 2] = (seed * 37 + x + y) & 0xff;
    }
  }
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** { width, height } from a PNG's IHDR. */
function pngSize(buf) {
  assert.ok(buf.subarray(0, 8).equals(PNG_SIGNATURE), 'PNG signature');
  assert.equal(buf.subarray(12, 16).toString('ascii'), 'IHDR', 'first chunk is IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/** GETs url with plain fetch: { status, type, body: Buffer }. */
async function download(url) {
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, type: res.headers.get('content-type') || '', body };
}

// ---------------------------------------------------------------------------

for (const dialect of await dialects()) {
  describe(`relations, files and batch via the pocketbase SDK [${dialect.name}]`, { skip: dialect.skip }, () => {
    let server;
    let admin;

    before(async () => {
      server = await startServer({ dialect: dialect.name });
      const res = await server.cli('superuser', 'upsert', 'admin@example.com', 'Secret12345');
      assert.equal(res.code, 0, res.stderr);
      admin = server.client();
      await admin.collection('_superusers').authWithPassword('admin@example.com', 'Secret12345');
    });

    after(async () => {
      await server?.stop();
    });

    describe('expand and fields', () => {
      const ids = {};

      before(async () => {
        const authors = await admin.collections.create({
          name: 'authors', listRule: '@request.auth.id != ""', viewRule: '@request.auth.id != ""',
          fields: [{ name: 'name', type: 'text', required: true }],
        });
        const tags = await admin.collections.create({
          name: 'tags', listRule: '', viewRule: '',
          fields: [{ name: 'label', type: 'text', required: true }],
        });
        const posts = await admin.collections.create({
          name: 'posts', listRule: '', viewRule: '',
          fields: [
            { name: 'title', type: 'text', required: true },
            { name: 'body', type: 'editor' },
            { name: 'author', type: 'relation', collectionId: authors.id, maxSelect: 1 },
            { name: 'tags', type: 'relation', collectionId: tags.id, maxSelect: 5 },
          ],
        });
        await admin.collections.create({
          name: 'comments', listRule: '', viewRule: '',
          fields: [
            { name: 'text', type: 'text' },
            { name: 'post', type: 'relation', collectionId: posts.id, maxSelect: 1 },
          ],
        });

        ids.ann = (await admin.collection('authors').create({ name: 'Ann' })).id;
        ids.tags = {};
        for (const label of ['red', 'green', 'blue']) {
          ids.tags[label] = (await admin.collection('tags').create({ label })).id;
        }
        const post = await admin.collection('posts').create({
          title: 'Hello',
          body: '<p>Hello <strong>brave</strong> new world</p><script>alert(1)</script>',
          author: ids.ann,
          // Deliberately not in creation order.
          tags: [ids.tags.blue, ids.tags.red, ids.tags.green],
        });
        ids.post = post.id;
        ids.other = (await admin.collection('posts').create({ title: 'Other', author: ids.ann })).id;
        ids.comments = [];
        for (const text of ['first', 'second']) {
          ids.comments.push((await admin.collection('comments').create({ text, post: ids.post })).id);
        }
        ids.otherComment = (await admin.collection('comments').create({ text: 'elsewhere', post: ids.other })).id;
      });

      it('expands single, multiple and back relations', async () => {
        const post = await admin.collection('posts').getOne(ids.post, { expand: 'author,tags,comments_via_post' });
        assert.equal(post.author, ids.ann, 'the relation value itself stays an id');
        assert.deepEqual(post.tags, [ids.tags.blue, ids.tags.red, ids.tags.green]);

        const { expand } = post;
        assert.ok(expand && typeof expand === 'object', `expand: ${JSON.stringify(post)}`);
        assert.ok(expand.author && !Array.isArray(expand.author), `expand.author is an object: ${JSON.stringify(expand.author)}`);
        assert.equal(expand.author.id, ids.ann);
        assert.equal(expand.author.name, 'Ann');
        assert.equal(expand.author.collectionName, 'authors');

        assert.ok(Array.isArray(expand.tags), `expand.tags is an array: ${JSON.stringify(expand.tags)}`);
        assert.deepEqual(expand.tags.map((t) => t.label), ['blue', 'red', 'green'], 'expand.tags keeps the stored order');

        assert.ok(Array.isArray(expand.comments_via_post), `expand.comments_via_post: ${JSON.stringify(expand.comments_via_post)}`);
        assert.deepEqual(expand.comments_via_post.map((c) => c.id).sort(), [...ids.comments].sort());
        for (const c of expand.comments_via_post) assert.equal(c.post, ids.post);
      });

      it('expands nested relations (post.author) on comments', async () => {
        const comment = await admin.collection('comments').getOne(ids.comments[0], { expand: 'post.author' });
        const post = comment.expand?.post;
        assert.ok(post && !Array.isArray(post), `expand.post: ${JSON.stringify(comment)}`);
        assert.equal(post.id, ids.post);
        assert.equal(post.expand?.author?.name, 'Ann', `expand.post.expand.author: ${JSON.stringify(post)}`);

        const list = await admin.collection('comments').getFullList({ expand: 'post.author', sort: 'text' });
        assert.deepEqual(list.map((c) => c.expand?.post?.expand?.author?.id), [ids.ann, ids.ann, ids.ann]);
      });

      it("omits relations the related collection's view rule hides from the client", async () => {
        const guest = server.client();
        const post = await guest.collection('posts').getOne(ids.post, { expand: 'author,tags' });
        assert.equal(post.id, ids.post, 'the record itself is returned');
        assert.equal(post.author, ids.ann, 'the raw relation id is still there');
        assert.equal(post.expand?.author, undefined, `guests must not see expand.author: ${JSON.stringify(post.expand)}`);
        assert.deepEqual(post.expand?.tags?.map((t) => t.label), ['blue', 'red', 'green'], 'public relations still expand');

        const comment = await guest.collection('comments').getOne(ids.comments[0], { expand: 'post.author' });
        assert.equal(comment.expand?.post?.id, ids.post);
        assert.equal(comment.expand.post.expand?.author, undefined, 'the nested hidden relation is absent too');
      });

      it('fields picks top-level and expanded keys', async () => {
        const post = await admin.collection('posts').getOne(ids.post, {
          expand: 'author', fields: 'id,title,expand.author.name',
        });
        assert.deepEqual(post, { id: ids.post, title: 'Hello', expand: { author: { name: 'Ann' } } });

        const list = await admin.collection('posts').getList(1, 10, { sort: 'title', fields: 'title' });
        assert.deepEqual(list.items, [{ title: 'Hello' }, { title: 'Other' }]);
        assert.equal(list.totalItems, 2, 'fields does not touch the list envelope');
      });

      it('fields body:excerpt(n, true) strips HTML and truncates with "..."', async () => {
        const short = await admin.collection('posts').getOne(ids.post, { fields: 'body:excerpt(5,true)' });
        assert.deepEqual(short, { body: 'Hello...' });

        const full = await admin.collection('posts').getOne(ids.post, { fields: 'id,body:excerpt(100)' });
        assert.deepEqual(full, { id: ids.post, body: 'Hello brave new world' });

        const noEllipsis = await admin.collection('posts').getOne(ids.post, { fields: 'body:excerpt(11)' });
        assert.deepEqual(noEllipsis, { body: 'Hello brave' });
      });
    });

    describe('files', () => {
      const png = makePNG(64, 64, 1);
      const png2 = makePNG(32, 16, 2);
      const text = Buffer.from('protected notes\nline two\n');
      let albumsId;
      let record;

      before(async () => {
        const albums = await admin.collections.create({
          // No rules: only superusers list/view/create; plain files are still public.
          name: 'albums',
          fields: [
            { name: 'title', type: 'text' },
            {
              name: 'images', type: 'file', maxSelect: 2, maxSize: 1 << 20,
              thumbs: ['50x50'], mimeTypes: ['image/png', 'image/jpeg'],
            },
            { name: 'doc', type: 'file', maxSelect: 1, maxSize: 1 << 20, protected: true },
          ],
        });
        albumsId = albums.id;
      });

      it('creates a record from FormData with an image and a protected text file', async () => {
        const form = new FormData();
        form.append('title', 'Holiday');
        form.append('images', new File([png], 'My Photo.png', { type: 'image/png' }));
        form.append('doc', new File([text], 'Notes File.txt', { type: 'text/plain' }));
        record = await admin.collection('albums').create(form);

        assert.equal(record.title, 'Holiday');
        assert.equal(record.collectionId, albumsId);
        assert.ok(Array.isArray(record.images) && record.images.length === 1, `images: ${JSON.stringify(record.images)}`);
        assert.match(record.images[0], /^my_photo_[a-z0-9]{10}\.png$/);
        assert.equal(typeof record.doc, 'string', 'a single file field holds a string');
        assert.match(record.doc, /^notes_file_[a-z0-9]{10}\.txt$/);

        const fetched = await admin.collection('albums').getOne(record.id);
        assert.deepEqual(fetched.images, record.images);
        assert.equal(fetched.doc, record.doc);
      });

      it('getURL downloads the exact bytes', async () => {
        const url = admin.files.getURL(record, record.images[0]);
        assert.equal(url, `${server.url}/api/files/${albumsId}/${record.id}/${record.images[0]}`);
        const res = await download(url);
        assert.equal(res.status, 200);
        assert.match(res.type, /^image\/png/);
        assert.ok(res.body.equals(png), `downloaded ${res.body.length} bytes, uploaded ${png.length}`);

        // A name the record does not hold is a 404.
        const missing = await download(admin.files.getURL(record, 'nope_0123456789.png'));
        assert.equal(missing.status, 404);
      });

      it('getURL with thumb 50x50 returns a 50x50 image', async () => {
        const res = await download(admin.files.getURL(record, record.images[0], { thumb: '50x50' }));
        assert.equal(res.status, 200);
        const isPNG = res.body.subarray(0, 8).equals(PNG_SIGNATURE);
        const isJPEG = res.body.subarray(0, 3).equals(JPEG_SIGNATURE);
        assert.ok(isPNG || isJPEG, `thumb is not a PNG or JPEG (content-type ${res.type}, first bytes ${res.body.subarray(0, 8).toString('hex')})`);
        assert.ok(!res.body.equals(png), 'the thumb is not the original');
        if (isPNG) assert.deepEqual(pngSize(res.body), { width: 50, height: 50 });

        // A size the field does not list serves the original.
        const unlisted = await download(admin.files.getURL(record, record.images[0], { thumb: '10x10' }));
        assert.equal(unlisted.status, 200);
        assert.ok(unlisted.body.equals(png), 'an unlisted thumb size falls back to the original');
      });

      it('file+ appends, file- removes and the removed file 404s', async () => {
        const appended = await admin.collection('albums').update(record.id, {
          'images+': [new File([png2], 'second.png', { type: 'image/png' })],
        });
        assert.equal(appended.images.length, 2, `images: ${JSON.stringify(appended.images)}`);
        assert.equal(appended.images[0], record.images[0], 'the existing file stays first');
        assert.match(appended.images[1], /^second_[a-z0-9]{10}\.png$/);
        assert.equal(appended.doc, record.doc, 'other file fields are untouched');
        const second = await download(admin.files.getURL(appended, appended.images[1]));
        assert.equal(second.status, 200);
        assert.ok(second.body.equals(png2), 'the appended file downloads byte for byte');

        // maxSelect 2: a third file is refused.
        const tooMany = await rejectsWith(admin.collection('albums').update(record.id, {
          'images+': [new File([png], 'third.png', { type: 'image/png' })],
        }), 400);
        assert.equal(tooMany.response.data.images?.code, 'validation_too_many_files', JSON.stringify(tooMany.response));

        const firstURL = admin.files.getURL(record, record.images[0]);
        const removed = await admin.collection('albums').update(record.id, { 'images-': [record.images[0]] });
        assert.deepEqual(removed.images, [appended.images[1]]);
        assert.equal((await download(firstURL)).status, 404, 'the removed file is gone');
        assert.equal((await download(admin.files.getURL(removed, removed.images[0]))).status, 200);
        record = removed;
      });

      it('a protected file needs a file token', async () => {
        const url = admin.files.getURL(record, record.doc);
        const anonymous = await download(url);
        assert.equal(anonymous.status, 404, 'no token: 404');
        const bogus = await download(admin.files.getURL(record, record.doc, { token: 'not-a-token' }));
        assert.equal(bogus.status, 404, 'invalid token: 404');

        const token = await admin.files.getToken();
        assert.equal(typeof token, 'string');
        assert.ok(token.length > 0);
        const withToken = await download(admin.files.getURL(record, record.doc, { token }));
        assert.equal(withToken.status, 200);
        assert.ok(withToken.body.equals(text), `protected file body: ${JSON.stringify(withToken.body.toString())}`);

        // Guests cannot get a file token at all.
        await rejectsWith(server.client().files.getToken(), 401);
      });

      it('a file of a disallowed mime type is a 400 with a field error', async () => {
        const before = await admin.collection('albums').getList(1, 1);
        const form = new FormData();
        form.append('title', 'Bad');
        // The content, not the declared type or extension, decides.
        form.append('images', new File([Buffer.from('just some text, not an image\n')], 'fake.png', { type: 'image/png' }));
        const err = await rejectsWith(admin.collection('albums').create(form), 400);
        assert.equal(err.response.data.images?.code, 'validation_invalid_mime_type', JSON.stringify(err.response));
        const afterList = await admin.collection('albums').getList(1, 1);
        assert.equal(afterList.totalItems, before.totalItems, 'nothing was created');
      });
    });

    describe('batch', () => {
      before(async () => {
        await admin.collections.create({
          name: 'notes', listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '',
          fields: [{ name: 'title', type: 'text', required: true }, { name: 'n', type: 'number' }],
        });
      });

      it('is refused with 403 while batch requests are disabled', async () => {
        const batch = admin.createBatch();
        batch.collection('notes').create({ title: 'never' });
        const err = await rejectsWith(batch.send(), 403);
        assert.equal(err.response.message, 'Batch requests are not allowed.');
        assert.equal((await admin.collection('notes').getList(1, 1)).totalItems, 0);
      });

      it('runs create, update, delete and upsert once enabled', async () => {
        const settings = await admin.settings.update({ batch: { enabled: true, maxRequests: 50 } });
        assert.equal(settings.batch.enabled, true);
        assert.equal(settings.batch.maxRequests, 50);

        const keep = await admin.collection('notes').create({ title: 'keep', n: 1 });
        const drop = await admin.collection('notes').create({ title: 'drop', n: 2 });

        const batch = admin.createBatch();
        batch.collection('notes').create({ title: 'created', n: 3 });
        batch.collection('notes').update(keep.id, { title: 'kept', 'n+': 10 });
        batch.collection('notes').delete(drop.id);
        batch.collection('notes').upsert({ id: keep.id, n: 42 });
        batch.collection('notes').upsert({ id: 'upsertnew000001', title: 'upserted', n: 5 });
        const results = await batch.send();

        assert.ok(Array.isArray(results), JSON.stringify(results));
        assert.deepEqual(results.map((r) => r.status), [200, 200, 204, 200, 200], JSON.stringify(results));
        assert.equal(results[0].body.title, 'created');
        assert.match(results[0].body.id, /^[a-z0-9]{15}$/);
        assert.equal(results[1].body.id, keep.id);
        assert.equal(results[1].body.title, 'kept');
        assert.equal(results[1].body.n, 11);
        assert.equal(results[2].body, null, 'a delete has no body');
        assert.deepEqual([results[3].body.id, results[3].body.title, results[3].body.n], [keep.id, 'kept', 42], 'upsert of an existing id updates');
        assert.deepEqual([results[4].body.id, results[4].body.title, results[4].body.n], ['upsertnew000001', 'upserted', 5], 'upsert of a new id creates');

        const all = await admin.collection('notes').getFullList({ sort: 'title' });
        assert.deepEqual(all.map((r) => [r.title, r.n]), [['created', 3], ['kept', 42], ['upserted', 5]]);
        await rejectsWith(admin.collection('notes').getOne(drop.id), 404);
      });

      it('rolls back every item when the last one fails', async () => {
        const existing = await admin.collection('notes').getFirstListItem('title = "kept"');
        const victim = await admin.collection('notes').getFirstListItem('title = "upserted"');
        const before = await admin.collection('notes').getFullList({ sort: 'id' });

        const batch = admin.createBatch();
        batch.collection('notes').create({ title: 'rolled back', n: 1 });
        batch.collection('notes').update(existing.id, { title: 'changed' });
        batch.collection('notes').delete(victim.id);
        batch.collection('notes').upsert({ id: 'upsertnew000002', title: 'rolled back too' });
        batch.collection('notes').create({ n: 7 }); // missing the required title
        const err = await rejectsWith(batch.send(), 400);

        assert.equal(err.response.message, 'Batch transaction failed.');
        const failed = err.response.data?.requests?.['4'];
        assert.ok(failed, `data.requests["4"]: ${JSON.stringify(err.response)}`);
        assert.equal(failed.code, 'batch_request_failed');
        assert.equal(failed.response?.status, 400);
        assert.equal(failed.response?.data?.title?.code, 'validation_required', JSON.stringify(failed));

        const afterList = await admin.collection('notes').getFullList({ sort: 'id' });
        assert.deepEqual(afterList, before, 'nothing of the failed batch persisted');
        assert.equal((await admin.collection('notes').getList(1, 1, { filter: 'title ~ "rolled back"' })).totalItems, 0);
        await rejectsWith(admin.collection('notes').getOne('upsertnew000002'), 404);
      });
    });
  });
}
