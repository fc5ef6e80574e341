using System.Text.RegularExpressions;
using Sandbox.Core;

namespace Sandbox.Images;

/// <summary>
/// A docker-style image name: <c>busybox</c> means <c>busybox:latest</c>, and <c>docker.io/library/busybox</c> is the
/// same image as <c>busybox</c> (a local store has no registry to tell them apart).
/// </summary>
public sealed partial record ImageReference(string Name, string Tag)
{
    public const string DefaultTag = "latest";

    public override string ToString() => $"{Name}:{Tag}";

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex PathPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[A-Za-z0-9.-]+(:[0-9]+)?$")]
    private static partial Regex HostPattern();

    /// <summary>Parses and normalises <c>[host[:port]/]path[:tag]</c>; a clear error when it is not a valid name.</summary>
    public static ImageReference Parse(string reference)
    {
        if (!TryParse(reference, out var r, out var problem))
            throw new SandboxException(SandboxFailure.Image, $"invalid image name '{reference}': {problem}");
        return r!;
    }

    public static bool TryParse(string reference, out ImageReference? result, out string problem)
    {
        result = null;
        problem = "";
        if (string.IsNullOrWhiteSpace(reference)) { problem = "empty"; return false; }
        if (reference.Contains('@')) { problem = "digest references (NAME@sha256:...) are not names; use the digest alone"; return false; }
        string name = reference, tag = DefaultTag;
        int slash = reference.LastIndexOf('/');
        int colon = reference.LastIndexOf(':');
        if (colon > slash)
        {
            name = reference[..colon];
            tag = reference[(colon + 1)..];
            if (!TagPattern().IsMatch(tag)) { problem = $"invalid tag '{tag}'"; return false; }
        }
        var parts = name.Split('/');
        int first = 0;
        if (parts.Length > 1 && (parts[0].Contains('.') || parts[0].Contains(':') || parts[0] == "localhost"))
        {
            if (!HostPattern().IsMatch(parts[0])) { problem = $"invalid registry host '{parts[0]}'"; return false; }
            first = 1;
        }
        var path = string.Join('/', parts[first..]);
        if (!PathPattern().IsMatch(path))
        {
            problem = "names use lower-case letters, digits and separators (. _ - /)";
            return false;
        }
        // docker.io/library/x and docker.io/x are what docker calls x.
        if (first == 1 && parts[0] is "docker.io" or "index.docker.io" or "registry-1.docker.io")
            name = path.StartsWith("library/", StringComparison.Ordinal) && path.Count(c => c == '/') == 1 ? path[8..] : path;
        if (name.Length > 255) { problem = "longer than 255 characters"; return false; }
        result = new ImageReference(name, tag);
        return true;
    }

    /// <summary>A name made from a file name, for imports given no <c>--name</c>.</summary>
    public static ImageReference FromFileName(string path, string tag = DefaultTag)
    {
        var baseName = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
        foreach (var ext in new[] { ".tar.gz", ".tgz", ".tar.zst", ".tzst", ".tar", ".oci", ".gz", ".zst" })
            if (baseName.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) { baseName = baseName[..^ext.Length]; break; }
        var chars = baseName.ToLowerInvariant().Select(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' ? c : '-').ToArray();
        var name = new string(chars).Trim('-');
        while (name.Contains("--", StringComparison.Ordinal)) name = name.Replace("--", "-", StringComparison.Ordinal);
        if (name.Length == 0) name = "image";
        if (!TagPattern().IsMatch(tag)) tag = DefaultTag;
        return new ImageReference(name, tag);
    }
}
