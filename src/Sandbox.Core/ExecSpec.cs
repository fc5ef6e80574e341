namespace Sandbox.Core;

/// <summary>
/// A process to start in a running sandbox (<c>sandbox exec</c>). Unset fields follow docker's exec: the sandbox's
/// user and working directory, its environment (image env + run env) with <see cref="Env"/> added on top.
/// </summary>
public sealed record ExecSpec
{
    /// <summary>The command and its arguments; argv[0] is looked up in the sandbox's PATH when it has no slash.</summary>
    public required IReadOnlyList<string> Args { get; init; }

    /// <summary><c>K=V</c> entries (<c>-e</c>); win over the sandbox's environment by key.</summary>
    public IReadOnlyList<string> Env { get; init; } = [];

    /// <summary><c>-w</c>; null means the sandbox's working directory.</summary>
    public string? WorkingDir { get; init; }

    /// <summary><c>-u USER[:GROUP]</c>; null means the sandbox's user.</summary>
    public string? User { get; init; }

    /// <summary>Give the process a pty (<c>-t</c>) as its controlling terminal.</summary>
    public bool Tty { get; init; }

    /// <summary>Keep stdin open (<c>-i</c>); otherwise the process's stdin is empty.</summary>
    public bool Interactive { get; init; }

    /// <summary>The pty's initial size with <see cref="Tty"/>; 0 means unknown (the backend asks the caller's terminal when stdio is inherited).</summary>
    public ushort TtyRows { get; init; }

    public ushort TtyColumns { get; init; }
}
