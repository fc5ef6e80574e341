using Sandbox.Core;

namespace Sandbox.Lifecycle;

/// <summary>What a client asks of a sandbox's owner, as the first frame on its control socket.</summary>
public sealed record ControlRequest
{
    /// <summary>stop, kill, pause, unpause, stats, exec, attach, resize.</summary>
    public required string Op { get; init; }
    public int Signal { get; init; }
    public int TimeoutSeconds { get; init; }
    public ushort Rows { get; init; }
    public ushort Columns { get; init; }
    public ExecSpec? Exec { get; init; }
    /// <summary>exec -d: start the process and answer at once; its output is discarded.</summary>
    public bool Detach { get; init; }
}

/// <summary>The owner's answer: ok, or the error (with its failure kind, so the CLI exits with the right code).</summary>
public sealed record ControlReply
{
    public bool Ok { get; init; }
    public string? Error { get; init; }
    public SandboxFailure? Failure { get; init; }
    public SandboxStats? Stats { get; init; }
    /// <summary>wait: the workload's exit (code, or the signal that killed it).</summary>
    public int? ExitCode { get; init; }
    public int? ExitSignal { get; init; }
    public bool OomKilled { get; init; }
}
