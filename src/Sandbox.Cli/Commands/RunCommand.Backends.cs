using Sandbox.Core;

namespace Sandbox.Cli;

public static partial class RunCommand
{
    /// <summary>A runtime plus whatever it holds open (image store, libvirt connection).</summary>
    public sealed class RuntimeLease(ISandboxRuntime runtime, IAsyncDisposable? owner = null) : IAsyncDisposable
    {
        public ISandboxRuntime Runtime { get; } = runtime;

        public ValueTask DisposeAsync() => owner?.DisposeAsync() ?? ValueTask.CompletedTask;
    }

    public static Task<RuntimeLease> CreateRuntimeAsync(GlobalOptions global, Isolation isolation, CancellationToken ct) =>
        isolation switch
        {
            Isolation.Container => Task.FromResult(new RuntimeLease(new Container.ContainerRuntime(
                global.Paths, new Images.ImageStore(global.Paths, global.LoggerFactory), global.LoggerFactory,
                Container.ContainerRuntime.DefaultInitPath()))),
            _ => throw new SandboxException(SandboxFailure.BackendUnavailable,
                "the micro-VM backend (--vm) is not available in this build yet"),
        };
}
