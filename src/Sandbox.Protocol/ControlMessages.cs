using System.Text.Json.Serialization;
using Sandbox.Core;

namespace Sandbox.Protocol;

/// <summary>
/// What a client asks of a sandbox's holder, as the first frame on its control socket (<c>ctl.sock</c>): a .NET owner
/// (<c>Sandbox.Lifecycle.ControlServer</c>) or, for a detached container, its sandbox-init (docs/process-model.md).
/// </summary>
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

/// <summary>
/// <c>exit.json</c>: the workload's end as a container's init records it when it holds a detached sandbox (it has no
/// directory fd, so it cannot write <c>state.json</c>); readers fold it into the state once init let go of the lock.
/// </summary>
public sealed record ExitRecord
{
    public int Code { get; init; }
    /// <summary>The signal that killed the workload; 0 when it exited.</summary>
    public int Signal { get; init; }
    public DateTimeOffset Finished { get; init; }
    /// <summary>Log records init had to drop (a full file system) and could not say so in the log itself.</summary>
    public long LogLost { get; init; }
}

[JsonSourceGenerationOptions(UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(ControlRequest))]
[JsonSerializable(typeof(ControlReply))]
[JsonSerializable(typeof(ExitRecord))]
public sealed partial class ControlJsonContext : JsonSerializerContext;
