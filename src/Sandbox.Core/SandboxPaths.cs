namespace Sandbox.Core;

/// <summary>Where Sandbox keeps its state: <c>/var/lib/sandbox</c>, or <c>SANDBOX_ROOT</c> / <c>--root</c>.</summary>
public sealed class SandboxPaths
{
    public const string DefaultRoot = "/var/lib/sandbox";

    public SandboxPaths(string root)
    {
        if (!Path.IsPathRooted(root))
            root = Path.GetFullPath(root);
        Root = root.TrimEnd('/') is { Length: > 0 } r ? r : "/";
    }

    /// <summary>The root from <c>--root</c>, else <c>SANDBOX_ROOT</c>, else the default.</summary>
    public static SandboxPaths FromEnvironment(string? explicitRoot = null)
    {
        var root = explicitRoot;
        if (string.IsNullOrEmpty(root)) root = Environment.GetEnvironmentVariable("SANDBOX_ROOT");
        if (string.IsNullOrEmpty(root)) root = DefaultRoot;
        return new SandboxPaths(root);
    }

    public string Root { get; }

    /// <summary>The image store (blobs, index, unpacked rootfs cache).</summary>
    public string Images => Path.Combine(Root, "images");

    /// <summary>Per-sandbox state directories, one <c>run/&lt;id&gt;</c> per sandbox of either backend (see <see cref="SandboxDirectory"/>).</summary>
    public string Run => Path.Combine(Root, "run");

    /// <summary>The state directory of sandbox <paramref name="id"/>.</summary>
    public string Sandbox(string id) => Path.Combine(Run, id);

    /// <summary>Sandbox names: <c>names/&lt;name&gt;</c> is a symbolic link to the id (made atomically, so names are unique).</summary>
    public string Names => Path.Combine(Root, "names");

    /// <summary>Built artifacts: guest kernel, initramfs.</summary>
    public string Cache => Path.Combine(Root, "cache");
}
