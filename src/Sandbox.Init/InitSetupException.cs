using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>init could not build the workload's world or start it; reported to the host as an Error frame.</summary>
public sealed class InitSetupException(InitFailure failure, string message, int errno = 0, Exception? inner = null)
    : Exception(message, inner)
{
    public InitFailure Failure { get; } = failure;
    public int Errno { get; } = errno;

    /// <summary>docker's meanings: 127 not found, 126 not executable, 125 anything else.</summary>
    public int ExitCode => Failure switch
    {
        InitFailure.CommandNotFound => 127,
        InitFailure.CommandNotExecutable => 126,
        _ => 125,
    };

    public static InitSetupException From(InitFailure failure, string what, Exception e) =>
        new(failure, $"{what}: {e.Message}", e is Interop.Libc.ErrnoException ee ? ee.Errno : 0, e);
}
