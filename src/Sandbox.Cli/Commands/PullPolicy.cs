using Sandbox.Images;
using Sandbox.Images.Registry;

namespace Sandbox.Cli;

/// <summary>
/// <c>run --pull missing|always|never</c> (docker's policy names; default missing). The built-in <c>busybox</c> image
/// is made locally and never pulled; a reference that is only a digest or digest prefix names a stored image.
/// </summary>
public static class PullPolicy
{
    public static async Task ApplyAsync(GlobalOptions global, ParsedArgs parsed, string image, CancellationToken ct)
    {
        var policy = parsed.Value("--pull") ?? "missing";
        if (policy is not ("missing" or "always" or "never"))
            throw new UsageException($"invalid --pull policy '{policy}' (missing, always or never)");
        if (policy == "never" || IsBuiltIn(image) || LooksLikeDigest(image)) return;
        var store = new ImageStore(global.Paths, global.LoggerFactory);
        if (policy == "missing" && await store.ExistsAsync(image, ct).ConfigureAwait(false)) return;
        if (!RegistryReference.TryParse(image, out var reference, out _)) return; // the store's lookup gives the error
        var options = RegistryCommandOptions.Build(parsed, reference!.Registry);
        using var cancel = PullCommand.CancelOnSignals(ct, out var registrations);
        try
        {
            await PullCommand.PullAsync(global, reference, options, quiet: false, cancel.Token).ConfigureAwait(false);
        }
        finally
        {
            foreach (var r in registrations) r.Dispose();
        }
    }

    private static bool IsBuiltIn(string image) => ImageStore.IsBuiltIn(image);

    private static bool LooksLikeDigest(string image)
    {
        var hex = image.StartsWith(Digests.Prefix, StringComparison.Ordinal) ? image[Digests.Prefix.Length..] : image;
        return image.StartsWith(Digests.Prefix, StringComparison.Ordinal) || (hex.Length >= 12 && Digests.IsHex(hex));
    }
}
