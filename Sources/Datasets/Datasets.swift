// The Datasets module: fetch, verify, cache and load MNIST-format datasets.
//
//   Curl/      CurlFetcher + FetchPolicy: libcurl through the non-variadic shims of Sources/CCurl/shim.h.
//   Gzip/      Gzip.decompress / Gzip.inflate (output in chunks): zlib inflate (16 + MAX_WBITS), multi-member,
//              strict about truncation.
//   IDX/       IDXHeader / IDX.parseUBytes: strict IDX parsing (magic, type, big-endian dims, exact length).
//   Checksum/  HexDigest: MD5 and SHA-256 from swift-crypto, as hex; a file's MD5, and the SHA-256 of what a
//              .gz inflates to, are hashed chunk by chunk.
//   Catalog/   DatasetCatalog (mnist, fashion-mnist), Mirror, DatasetStore (fetch, load, status), ImageSet,
//              Normalizer, SplitMix64 and BatchSampler.
//
// Typical use:
//
//     let store = DatasetStore(cacheDirectory: DatasetStore.defaultCacheDirectory())
//     try store.fetch(DatasetCatalog.mnist, mirrors: Mirror.resolve(for: DatasetCatalog.mnist, flags: []))
//     let data = try store.load(DatasetCatalog.mnist)          // normalized with the training mean/std
//     let batch = data.batch(split: .train, size: 512, seed: 1) // batch.pixels: 512 × 784 Float, batch.labels
//     let status = store.status(of: DatasetCatalog.mnist)       // cached? verified? statistics
