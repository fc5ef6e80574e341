using Sandbox.Core;

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
}
