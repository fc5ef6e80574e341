using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Sandbox.Images.Registry;

/// <summary>How a pushed blob got into the registry.</summary>
public enum BlobPushResult { Exists, Mounted, Uploaded }

public sealed partial class RegistryClient
{
    /// <summary>HEAD of a blob: whether the repository already has it.</summary>
    public async Task<bool> BlobExistsAsync(string repository, string digest, CancellationToken ct)
    {
        var what = $"blob {Digests.Short(digest)} of {repository}";
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, Url($"v2/{repository}/blobs/{digest}")),
            [PushScope(repository)], what, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        if (response.IsSuccessStatusCode) return true;
        throw await ErrorAsync(response, what, ct, push: true).ConfigureAwait(false);
    }

    /// <summary>HEAD of a manifest by digest: whether the repository already has it (an index's entries must exist before it).</summary>
    public async Task<bool> ManifestExistsAsync(string repository, string digest, CancellationToken ct)
    {
        var what = $"manifest {repository}@{Digests.Short(digest)}";
        using var response = await SendAsync(() =>
        {
            var r = new HttpRequestMessage(HttpMethod.Head, Url($"v2/{repository}/manifests/{digest}"));
            foreach (var a in ManifestAccept) r.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(a));
            return r;
        }, [PushScope(repository)], what, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        if (response.IsSuccessStatusCode) return true;
        throw await ErrorAsync(response, what, ct, push: true).ConfigureAwait(false);
    }

    /// <summary>
    /// Puts a blob into <paramref name="repository"/>: HEAD first (nothing to do when it is there), then a
    /// cross-repository mount from each of <paramref name="mountFrom"/> on the same registry, then an upload —
    /// monolithic (one PUT) up to <see cref="RegistryOptions.MonolithicUploadLimit"/>, else chunked (PATCH with
    /// Content-Range, then PUT with the digest).
    /// </summary>
    public async Task<BlobPushResult> PushBlobAsync(string repository, string digest, long size, Func<Stream> open,
        IReadOnlyList<string> mountFrom, IProgress<long>? progress, CancellationToken ct)
    {
        if (await BlobExistsAsync(repository, digest, ct).ConfigureAwait(false)) return BlobPushResult.Exists;
        Uri? location = null;
        foreach (var from in mountFrom.Where(f => f != repository))
        {
            var scopes = new[] { PushScope(repository), PullScope(from) };
            using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post,
                Url($"v2/{repository}/blobs/uploads/?mount={Uri.EscapeDataString(digest)}&from={Uri.EscapeDataString(from)}")),
                scopes, $"mount of {Digests.Short(digest)} from {from}", ct).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Created)
            {
                RegistryLog.BlobPushed(_logger, Registry, digest, $"mounted from {from}");
                return BlobPushResult.Mounted;
            }
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                // Mount refused (not there, or not allowed): the registry opened an upload session instead.
                location = LocationOf(response);
                break;
            }
            if (!response.IsSuccessStatusCode) throw await ErrorAsync(response, $"mount of blob {Digests.Short(digest)}", ct, push: true).ConfigureAwait(false);
        }
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                location ??= await StartUploadAsync(repository, ct).ConfigureAwait(false);
                if (size <= _options.MonolithicUploadLimit) await UploadMonolithicAsync(repository, location, digest, size, open, progress, ct).ConfigureAwait(false);
                else await UploadChunkedAsync(repository, location, digest, size, open, progress, ct).ConfigureAwait(false);
                RegistryLog.BlobPushed(_logger, Registry, digest, size <= _options.MonolithicUploadLimit ? "uploaded (monolithic)" : "uploaded (chunked)");
                return BlobPushResult.Uploaded;
            }
            catch (RegistryException e) when (e.Failure is RegistryFailure.Network or RegistryFailure.Timeout && attempt < _options.Attempts)
            {
                // An upload session cannot be trusted after a broken PATCH/PUT: start a new one.
                RegistryLog.Retrying(_logger, Registry, $"upload of {Digests.Short(digest)}", attempt, e.Message);
                location = null;
                await Task.Delay(Backoff(attempt), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task<Uri> StartUploadAsync(string repository, CancellationToken ct)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, Url($"v2/{repository}/blobs/uploads/")),
            [PushScope(repository)], $"upload to {repository}", ct).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Accepted) throw await ErrorAsync(response, $"upload to {repository}", ct, push: true).ConfigureAwait(false);
        return LocationOf(response);
    }

    private Uri LocationOf(HttpResponseMessage response)
    {
        var location = response.Headers.Location ?? throw new RegistryException(RegistryFailure.Protocol, $"{Registry}: upload answer without a Location");
        return location.IsAbsoluteUri ? location : new Uri(_base!, location);
    }

    private static Uri WithQuery(Uri location, string query) =>
        new(location + (string.IsNullOrEmpty(location.Query) ? "?" : "&") + query);

    private async Task UploadMonolithicAsync(string repository, Uri location, string digest, long size, Func<Stream> open,
        IProgress<long>? progress, CancellationToken ct)
    {
        var what = $"upload of blob {Digests.Short(digest)}";
        using var response = await SendAsync(() =>
        {
            var r = new HttpRequestMessage(HttpMethod.Put, WithQuery(location, "digest=" + Uri.EscapeDataString(digest)))
            {
                Content = new StreamContent(new CountingReadStream(open(), progress), 256 << 10),
            };
            r.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            r.Content.Headers.ContentLength = size;
            return r;
        }, [PushScope(repository)], what, ct).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Created) throw await ErrorAsync(response, what, ct, push: true).ConfigureAwait(false);
        CheckDigestHeader(response, digest, what);
    }

    private async Task UploadChunkedAsync(string repository, Uri location, string digest, long size, Func<Stream> open,
        IProgress<long>? progress, CancellationToken ct)
    {
        var what = $"chunked upload of blob {Digests.Short(digest)}";
        using var source = open();
        long offset = 0;
        var buffer = new byte[(int)Math.Min(_options.ChunkSize, size)];
        while (offset < size)
        {
            int length = 0;
            while (length < buffer.Length)
            {
                int n = await source.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
                if (n == 0) break;
                length += n;
            }
            if (length == 0) throw new RegistryException(RegistryFailure.Digest, $"{what}: the local blob is shorter than {size} bytes");
            var start = offset;
            var chunk = length;
            var target = location;
            using var response = await SendAsync(() =>
            {
                var r = new HttpRequestMessage(HttpMethod.Patch, target) { Content = new ByteArrayContent(buffer, 0, chunk) };
                r.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                r.Content.Headers.TryAddWithoutValidation("Content-Range", string.Create(CultureInfo.InvariantCulture, $"{start}-{start + chunk - 1}"));
                return r;
            }, [PushScope(repository)], what, ct).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Accepted) throw await ErrorAsync(response, what, ct, push: true).ConfigureAwait(false);
            location = LocationOf(response);
            offset += length;
            progress?.Report(length);
        }
        var final = location;
        using var done = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, WithQuery(final, "digest=" + Uri.EscapeDataString(digest)))
        {
            Content = new ByteArrayContent([]),
        }, [PushScope(repository)], what, ct).ConfigureAwait(false);
        if (done.StatusCode != HttpStatusCode.Created) throw await ErrorAsync(done, what, ct, push: true).ConfigureAwait(false);
        CheckDigestHeader(done, digest, what);
    }

    private void CheckDigestHeader(HttpResponseMessage response, string digest, string what)
    {
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var v) && v.FirstOrDefault() is { Length: > 0 } claimed && claimed != digest)
            throw new RegistryException(RegistryFailure.Digest, $"{Registry}: {what}: the registry stored {claimed}, not {digest}");
    }

    /// <summary>PUTs a manifest or index under a tag or its digest, with its exact media type as Content-Type.</summary>
    public async Task PutManifestAsync(string repository, string reference, byte[] bytes, string mediaType, CancellationToken ct)
    {
        var digest = Digests.Of(bytes);
        var what = $"manifest {repository}:{reference}";
        using var response = await SendAsync(() =>
        {
            var r = new HttpRequestMessage(HttpMethod.Put, Url($"v2/{repository}/manifests/{reference}")) { Content = new ByteArrayContent(bytes) };
            r.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
            return r;
        }, [PushScope(repository)], what, ct).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Created) throw await ErrorAsync(response, what, ct, push: true).ConfigureAwait(false);
        CheckDigestHeader(response, digest, what);
    }

    /// <summary>A read-only pass-through that reports bytes as they are read (upload progress).</summary>
    private sealed class CountingReadStream(Stream inner, IProgress<long>? progress) : Stream
    {
        public override int Read(byte[] buffer, int offset, int count) => Report(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
            Report(await inner.ReadAsync(buffer, ct).ConfigureAwait(false));

        private int Report(int n)
        {
            if (n > 0) progress?.Report(n);
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
