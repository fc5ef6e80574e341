using System.Net;
using System.Text.RegularExpressions;
using Sandbox.Core;

namespace Sandbox.Images.Registry;

/// <summary>
/// A reference to an image in a registry, normalised as docker does: <c>busybox</c> is
/// <c>docker.io/library/busybox:latest</c>; <c>host[:port]/repo[:tag][@sha256:…]</c> names another registry (the first
/// component is a host when it has a dot or a port, or is <c>localhost</c>).
/// </summary>
public sealed partial record RegistryReference(string Registry, string Repository, string? Tag, string? Digest)
{
    public const string DockerHub = "docker.io";

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex PathPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$")]
    private static partial Regex HostPattern();

    /// <summary>What the manifest request asks for: the digest when there is one (it wins over a tag), else the tag.</summary>
    public string ManifestReference => Digest ?? Tag ?? ImageReference.DefaultTag;

    /// <summary>The host the HTTP requests go to (docker.io's API lives at registry-1.docker.io).</summary>
    public string Endpoint => Registry == DockerHub ? "registry-1.docker.io" : Registry;

    /// <summary>The full, normalised form: <c>docker.io/library/busybox:latest</c>, <c>host:5000/app@sha256:…</c>.</summary>
    public override string ToString() =>
        $"{Registry}/{Repository}{(Tag is not null ? ":" + Tag : "")}{(Digest is not null ? "@" + Digest : "")}";

    /// <summary>
    /// The name:tag the store files the image under (the store's short docker form: <c>busybox:latest</c>,
    /// <c>host:5000/app:1</c>). A pull by digest alone is tagged <c>sha256-HEX</c>, since the store's index needs a tag.
    /// </summary>
    public ImageReference StoreName
    {
        get
        {
            var name = Registry == DockerHub
                ? (Repository.StartsWith("library/", StringComparison.Ordinal) && Repository.Count(c => c == '/') == 1 ? Repository[8..] : Repository)
                : $"{Registry}/{Repository}";
            var tag = Tag ?? (Digest is not null ? "sha256-" + Digest[Digests.Prefix.Length..] : ImageReference.DefaultTag);
            return new ImageReference(name, tag);
        }
    }

    /// <summary>The same repository with another tag or digest.</summary>
    public RegistryReference With(string? tag, string? digest) => this with { Tag = tag, Digest = digest };

    public static RegistryReference Parse(string reference)
    {
        if (!TryParse(reference, out var r, out var problem))
            throw new SandboxException(SandboxFailure.InvalidSpec, $"invalid image reference '{reference}': {problem}");
        return r!;
    }

    public static bool TryParse(string reference, out RegistryReference? result, out string problem)
    {
        result = null;
        problem = "";
        if (string.IsNullOrWhiteSpace(reference)) { problem = "empty"; return false; }
        string rest = reference;
        string? digest = null, tag = null;
        int at = rest.IndexOf('@');
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
            if (!Digests.IsValid(digest)) { problem = $"invalid digest '{digest}' (expected sha256:<64 hex digits>)"; return false; }
        }
        int slash = rest.LastIndexOf('/');
        int colon = rest.LastIndexOf(':');
        if (colon > slash)
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagPattern().IsMatch(tag)) { problem = $"invalid tag '{tag}'"; return false; }
        }
        string registry = DockerHub;
        var firstSlash = rest.IndexOf('/');
        if (firstSlash > 0)
        {
            var first = rest[..firstSlash];
            if (first.Contains('.') || first.Contains(':') || first == "localhost")
            {
                if (!HostPattern().IsMatch(first)) { problem = $"invalid registry host '{first}'"; return false; }
                registry = first;
                rest = rest[(firstSlash + 1)..];
            }
        }
        if (registry is "index.docker.io" or "registry-1.docker.io") registry = DockerHub;
        if (rest.Any(char.IsUpper)) { problem = "repository names must be lower-case"; return false; }
        if (!PathPattern().IsMatch(rest)) { problem = "names use lower-case letters, digits and separators (. _ - /)"; return false; }
        if (registry == DockerHub && !rest.Contains('/')) rest = "library/" + rest;
        if (rest.Length > 255) { problem = "repository name longer than 255 characters"; return false; }
        if (tag is null && digest is null) tag = ImageReference.DefaultTag;
        result = new RegistryReference(registry, rest, tag, digest);
        return true;
    }

    /// <summary>
    /// Whether <paramref name="registry"/> (host[:port]) is a loopback address — the only place plain HTTP is allowed,
    /// as docker allows it: localhost, 127.0.0.0/8, ::1.
    /// </summary>
    public static bool IsLoopback(string registry)
    {
        var host = HostOf(registry);
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip);
    }

    /// <summary>The host part of host[:port] (an IPv6 literal without its brackets).</summary>
    public static string HostOf(string registry)
    {
        if (registry.StartsWith('['))
        {
            int end = registry.IndexOf(']');
            return end > 0 ? registry[1..end] : registry;
        }
        int colon = registry.LastIndexOf(':');
        return colon > 0 ? registry[..colon] : registry;
    }
}
