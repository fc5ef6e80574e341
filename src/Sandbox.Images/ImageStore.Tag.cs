using Sandbox.Core;

namespace Sandbox.Images;

public sealed partial class ImageStore
{
    /// <summary>Whether <paramref name="reference"/> is the built-in busybox image (made locally, never pulled).</summary>
    public static bool IsBuiltIn(string reference) => IsBuiltInBusybox(reference);

    /// <summary>Whether <paramref name="reference"/> names an image in the store (no error when it does not).</summary>
    public Task<bool> ExistsAsync(string reference, CancellationToken cancellationToken = default)
    {
        Open();
        return Task.FromResult(Resolve(ReadIndex(), reference, out _) is not null);
    }

    /// <summary>
    /// <c>image tag SRC DST</c>: points the name <paramref name="target"/> at the image <paramref name="source"/> names.
    /// A tag that pointed at another image moves; that image goes if no tag is left on it, as with an import.
    /// </summary>
    public async Task<ImageSummary> AddTagAsync(string source, string target, CancellationToken cancellationToken = default)
    {
        var name = ImageReference.Parse(target);
        Open();
        string digest;
        string? untagged;
        using (await FileLock.AcquireAsync(_layout.StoreLock, exclusive: false, cancellationToken).ConfigureAwait(false))
        {
            var index = ReadIndex();
            digest = ResolveOrThrow(index, source);
            // A tag of a multi-platform image keeps its index (so that a push of the new name sends the index too).
            var from = ImageReference.TryParse(source, out var s, out _) ? index.Images.FirstOrDefault(e => e.Name == s!.Name && e.Tag == s.Tag && e.Digest == digest) : null;
            untagged = await TagAsync(name, digest, from?.Index).ConfigureAwait(false);
        }
        if (untagged is not null) await CollectUntaggedAsync(untagged, cancellationToken).ConfigureAwait(false);
        var manifest = ReadStoredManifest(digest, out _);
        var config = ReadStoredConfig(manifest, digest, out _);
        return new ImageSummary(name.Name, name.Tag, digest, SizeOf(manifest), config.Created ?? DateTimeOffset.UtcNow);
    }
}
