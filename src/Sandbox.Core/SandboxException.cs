namespace Sandbox.Core;

/// <summary>A sandbox could not be started or run; <see cref="Reason"/> says which part failed.</summary>
public class SandboxException : Exception
{
    public SandboxException(SandboxFailure reason, string message, Exception? inner = null)
        : base(message, inner) => Reason = reason;

    public SandboxFailure Reason { get; }

    /// <summary>docker's meanings: 126 cannot execute, 127 not found, 125 the runtime itself failed.</summary>
    public int ExitCode => Reason switch
    {
        SandboxFailure.CommandNotExecutable => 126,
        SandboxFailure.CommandNotFound => 127,
        _ => 125,
    };
}
