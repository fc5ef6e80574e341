using System.Collections.Concurrent;
using System.Security.Cryptography;
using Sandbox.Core;

namespace Sandbox.Images;

/// <summary>
/// Blobs of one import, verified on the way in and kept in its work directory until the import commits; a failed
/// import therefore leaves no blob behind. Blobs may be added from several threads at once (parallel downloads).
/// </summary>
internal sealed class StagedBlobs(StoreLayout layout, string directory)
{
    private readonly ConcurrentDictionary<string, string> _staged = new(StringComparer.Ordinal);
    private int _counter;

    public IEnumerable<KeyValuePair<string, string>> Staged => _staged;

    /// <summary>The file holding <paramref name="digest"/>: staged by this import, or already in the store.</summary>
    public string PathOf(string digest)
    {
        if (_staged.TryGetValue(digest, out var p)) return p;
        var stored = layout.Blob(digest);
        return File.Exists(stored) ? stored : throw new SandboxException(SandboxFailure.Image, $"blob {digest} is missing from the store");
    }

    public bool Has(string digest) => _staged.ContainsKey(digest) || File.Exists(layout.Blob(digest));

    /// <summary>
    /// Copies <paramref name="source"/> in while hashing it; with an expected digest, a mismatch (or a size that
    /// differs from the descriptor's) is an error and nothing is kept. Returns the digest and size.
    /// </summary>
    public (string Digest, long Size) Add(Stream source, string? expectedDigest, long? expectedSize, string what)
    {
        if (expectedDigest is not null)
        {
            Digests.Hex(expectedDigest, what);
            if (Has(expectedDigest))
            {
                // Verified when it came in; the source's copy is not needed.
                return (expectedDigest, new FileInfo(PathOf(expectedDigest)).Length);
            }
        }
        Directory.CreateDirectory(directory);
        var tmp = Path.Combine(directory, $"incoming-{Interlocked.Increment(ref _counter)}");
        long size = 0;
        string digest;
        using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            using (var output = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
            {
                var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(256 * 1024);
                try
                {
                    int n;
                    while ((n = source.Read(buffer, 0, buffer.Length)) > 0)
                    {
                        hash.AppendData(buffer, 0, n);
                        output.Write(buffer, 0, n);
                        size += n;
                        if (expectedSize is long max && size > max) break;
                    }
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            digest = Digests.Of(hash);
        }
        return Keep(tmp, digest, size, expectedDigest, expectedSize, what);
    }

    /// <summary>
    /// <see cref="Add(Stream, string?, long?, string)"/> for network sources: reads asynchronously (the stream may
    /// resume itself after a broken connection) and checks the same way.
    /// </summary>
    public async Task<(string Digest, long Size)> AddAsync(Stream source, string expectedDigest, long expectedSize, string what, CancellationToken ct)
    {
        Digests.Hex(expectedDigest, what);
        if (Has(expectedDigest)) return (expectedDigest, new FileInfo(PathOf(expectedDigest)).Length);
        Directory.CreateDirectory(directory);
        var tmp = Path.Combine(directory, $"incoming-{Interlocked.Increment(ref _counter)}");
        long size = 0;
        string digest;
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using (var output = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
                try
                {
                    int n;
                    while ((n = await source.ReadAsync(buffer.AsMemory(0, 1 << 20), ct).ConfigureAwait(false)) > 0)
                    {
                        hash.AppendData(buffer, 0, n);
                        await output.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                        size += n;
                        if (size > expectedSize) break;
                    }
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            digest = Digests.Of(hash);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
        return Keep(tmp, digest, size, expectedDigest, expectedSize, what);
    }

    private (string Digest, long Size) Keep(string tmp, string digest, long size, string? expectedDigest, long? expectedSize, string what)
    {
        if (expectedSize is long want && size != want)
        {
            File.Delete(tmp);
            throw new SandboxException(SandboxFailure.Image,
                $"{what}: size mismatch (descriptor says {want} bytes, the blob has {(size > want ? "more" : size.ToString(System.Globalization.CultureInfo.InvariantCulture))})");
        }
        if (expectedDigest is not null && digest != expectedDigest)
        {
            File.Delete(tmp);
            throw new SandboxException(SandboxFailure.Image, $"{what}: digest mismatch (expected {expectedDigest}, content is {digest})");
        }
        var final = Path.Combine(directory, Digests.Hex(digest, what));
        File.Move(tmp, final, overwrite: true);
        _staged[digest] = final;
        return (digest, size);
    }

    public (string Digest, long Size) Add(byte[] content, string what)
    {
        using var ms = new MemoryStream(content, writable: false);
        return Add(ms, null, null, what);
    }

    /// <summary>Moves the staged blobs into the store (rename: same file system; an existing blob is identical).</summary>
    public void Commit()
    {
        Directory.CreateDirectory(layout.Blobs);
        foreach (var (digest, path) in _staged)
            File.Move(path, layout.Blob(digest), overwrite: true);
        _staged.Clear();
    }
}
