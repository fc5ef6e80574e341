namespace Sandbox.Core;

/// <summary>One isolation backend. Both backends run the same image with the same observable behaviour.</summary>
public interface ISandboxRuntime
{
    Isolation Isolation { get; }

    /// <summary>
    /// Creates the sandbox and starts its workload. On failure everything made so far is removed and a
    /// <see cref="SandboxException"/> says which part failed.
    /// </summary>
    Task<ISandbox> StartAsync(SandboxSpec spec, SandboxStdio stdio, CancellationToken cancellationToken = default);
}
