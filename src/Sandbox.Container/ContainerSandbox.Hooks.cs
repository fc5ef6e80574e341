using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Container;

public sealed partial class ContainerSandbox
{
    /// <summary>
    /// An OCI bundle's prestart and createRuntime hooks (docs/oci-runtime.md): in the runtime's namespaces, once the
    /// container's namespaces and cgroup exist and before sandbox-init builds its root (runc's order); the state
    /// says "creating" and names init's host pid, so a hook can reach the namespaces through /proc/PID/ns. A failing
    /// hook fails the start (the caller tears the container down, as runc does).
    /// </summary>
    private void RunCreateHooks(int initPid)
    {
        if (_spec.Bundle is not { Hooks: { } hooks } bundle) return;
        var state = HookRunner.State(bundle, "creating", initPid);
        HookRunner.Run("prestart", hooks.Prestart, state);
        HookRunner.Run("createRuntime", hooks.CreateRuntime, state);
    }

    /// <summary>
    /// <c>--preserve-fds N</c>: the OCI owner holds the caller's fds 3 … 3+N-1 at <see cref="BundleSpec.PreservedFdBase"/>
    /// onwards; they go to sandbox-init over its fd socket, and init gives them to the workload as 3 … 3+N-1.
    /// </summary>
    private void SendPreservedFds()
    {
        if (_spec.Bundle is not { PreserveFds: > 0 } bundle) return;
        try
        {
            for (int i = 0; i < bundle.PreserveFds; i++)
                Sockets.SendFd(_fdSocket!, new SafeFd(BundleSpec.PreservedFdBase + i, ownsHandle: false), (byte)'P');
        }
        catch (ErrnoException e)
        {
            throw new SandboxException(SandboxFailure.Host, $"cannot pass the preserved fds to the container: {e.Message}", e);
        }
    }
}
