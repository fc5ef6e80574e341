namespace Sandbox.Core;

/// <summary>Where the workload's standard streams go.</summary>
public sealed class SandboxStdio
{
    private SandboxStdio(bool inherit, Stream? stdin, Stream? stdout, Stream? stderr)
    {
        IsInherited = inherit;
        Stdin = stdin;
        Stdout = stdout;
        Stderr = stderr;
    }

    /// <summary>The calling process's own fds 0, 1 and 2 (what the CLI uses).</summary>
    public static SandboxStdio Inherit { get; } = new(true, null, null, null);

    /// <summary>Empty stdin; stdout and stderr discarded.</summary>
    public static SandboxStdio Null { get; } = new(false, null, null, null);

    /// <summary>Streams owned by the caller; a null stdin means an empty one. The sandbox does not dispose them.</summary>
    public static SandboxStdio Streams(Stream? stdin, Stream? stdout, Stream? stderr) => new(false, stdin, stdout, stderr);

    public bool IsInherited { get; }
    public Stream? Stdin { get; }
    public Stream? Stdout { get; }
    public Stream? Stderr { get; }
}
