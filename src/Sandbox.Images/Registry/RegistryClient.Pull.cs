using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Sandbox.Images.Registry;

/// <summary>A manifest or index as the registry sent it: exact bytes, media type and verified digest.</summary>
public sealed record RegistryManifest(byte[] Bytes, string MediaType, string Digest);

public sealed partial class RegistryClient
{
    /// <summary>
    /// HEAD of a manifest or index by tag or digest: the digest the registry names it by (<c>Docker-Content-Digest</c>),
    /// or null when it does not say (or answers anything but 200: the GET that follows reports that properly). Enough
    /// to tell that a stored image is current without transferring anything.
    /// </summary>
    public async Task<string?> HeadManifestAsync(string repository, string reference, CancellationToken ct)
    {
        var what = $"manifest {repository}{(Digests.IsValid(reference) ? "@" : ":")}{reference}";
        using var response = await SendAsync(() =>
        {
            var r = new HttpRequestMessage(HttpMethod.Head, Url($"v2/{repository}/manifests/{reference}"));
            foreach (var a in ManifestAccept) r.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(a));
            return r;
        }, [PullScope(repository)], what, ct).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK) return null;
        return response.Headers.TryGetValues("Docker-Content-Digest", out var values) && values.FirstOrDefault() is { } d && Digests.IsValid(d) ? d : null;
    }

    /// <summary>
    /// GETs a manifest or index by tag or digest. The body's sha256 is checked against the reference's digest and the
    /// <c>Docker-Content-Digest</c> header; a registry that lies about either is an error.
    /// </summary>
    public async Task<RegistryManifest> GetManifestAsync(string repository, string reference, CancellationToken ct)
    {
        var what = $"manifest {repository}{(Digests.IsValid(reference) ? "@" : ":")}{reference}";
        using var response = await SendAsync(() =>
        {
            var r = new HttpRequestMessage(HttpMethod.Get, Url($"v2/{repository}/manifests/{reference}"));
            foreach (var a in ManifestAccept) r.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(a));
            return r;
        }, [PullScope(repository)], what, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            var e = await ErrorAsync(response, what, ct).ConfigureAwait(false);
            throw new RegistryException(RegistryFailure.NotFound,
                Digests.IsValid(reference) ? $"{Registry}/{repository}@{reference}: manifest unknown" : $"{Registry}/{repository}:{reference}: no such tag (manifest unknown)", e);
        }
        if (!response.IsSuccessStatusCode) throw await ErrorAsync(response, what, ct).ConfigureAwait(false);
        var bytes = await ReadLimitedAsync(response, MaxManifestBytes, what, ct).ConfigureAwait(false);
        var digest = Digests.Of(bytes);
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var values) && values.FirstOrDefault() is { Length: > 0 } claimed && claimed != digest)
            throw new RegistryException(RegistryFailure.Digest,
                $"{Registry}: {what}: the registry says its digest is {claimed} but the content is {digest}");
        if (Digests.IsValid(reference) && reference != digest)
            throw new RegistryException(RegistryFailure.Digest, $"{Registry}: {what}: content digest is {digest}, not the one asked for");
        var mediaType = MediaTypeOf(bytes, response.Content.Headers.ContentType?.MediaType, what);
        return new RegistryManifest(bytes, mediaType, digest);
    }

    /// <summary>The manifest's media type: its own <c>mediaType</c> field, else the Content-Type, else guessed from its shape.</summary>
    private string MediaTypeOf(byte[] bytes, string? contentType, string what)
    {
        MediaTypeProbe? probe;
        try { probe = JsonSerializer.Deserialize(bytes, RegistryJsonContext.Default.MediaTypeProbe); }
        catch (JsonException e) { throw new RegistryException(RegistryFailure.Protocol, $"{Registry}: {what} is not valid JSON: {e.Message}", e); }
        if (probe?.MediaType is { Length: > 0 } own) return own;
        if (contentType is { Length: > 0 } && (Oci.MediaTypes.IsManifest(contentType) || Oci.MediaTypes.IsIndex(contentType))) return contentType;
        if (probe?.Manifests is not null) return Oci.MediaTypes.OciIndex;
        if (probe?.Config is not null) return Oci.MediaTypes.OciManifest;
        throw new RegistryException(RegistryFailure.Protocol, $"{Registry}: {what}: unsupported manifest (media type '{contentType}')");
    }

    /// <summary>
    /// Opens a blob for reading from <paramref name="offset"/> (a Range request past 0). Redirects (to blob storage)
    /// are followed. Returns the body stream and the bytes it will deliver.
    /// </summary>
    public async Task<(Stream Body, long? Length, HttpResponseMessage Response)> OpenBlobAsync(string repository, string digest, long offset, CancellationToken ct)
    {
        var what = $"blob {Digests.Short(digest)} of {repository}";
        var response = await SendAsync(() =>
        {
            var r = new HttpRequestMessage(HttpMethod.Get, Url($"v2/{repository}/blobs/{digest}"));
            if (offset > 0) r.Headers.Range = new RangeHeaderValue(offset, null);
            return r;
        }, [PullScope(repository)], what, ct).ConfigureAwait(false);
        try
        {
            if (!response.IsSuccessStatusCode) throw await ErrorAsync(response, what, ct).ConfigureAwait(false);
            var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            if (offset > 0 && response.StatusCode != HttpStatusCode.PartialContent)
            {
                // The server ignored the Range: skip what we already have.
                var skip = new byte[81920];
                long left = offset;
                while (left > 0)
                {
                    int n = await body.ReadAsync(skip.AsMemory(0, (int)Math.Min(skip.Length, left)), ct).ConfigureAwait(false);
                    if (n == 0) throw new RegistryException(RegistryFailure.Digest, $"{Registry}: {what}: shorter than on the first attempt");
                    left -= n;
                }
                return (body, response.Content.Headers.ContentLength - offset, response);
            }
            return (body, response.Content.Headers.ContentLength, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A blob as a stream that survives an interrupted connection: a failed or silent read reopens the blob with a
    /// Range request from where it stopped (up to the retry budget). The caller hashes what it reads.
    /// </summary>
    public Stream OpenResumableBlob(string repository, string digest, long size, IProgress<long>? bytesRead = null) =>
        new ResumableBlobStream(this, repository, digest, size, _options, _logger, bytesRead);

    /// <summary>Downloads a small blob (a config) whole.</summary>
    public async Task<byte[]> GetBlobBytesAsync(string repository, string digest, long size, int limit, CancellationToken ct)
    {
        if (size > limit) throw new RegistryException(RegistryFailure.Protocol, $"{Registry}: blob {digest} is {size} bytes, more than the {limit} allowed");
        await using var s = OpenResumableBlob(repository, digest, size);
        using var ms = new MemoryStream();
        await s.CopyToAsync(ms, ct).ConfigureAwait(false);
        return ms.ToArray();
    }
}
