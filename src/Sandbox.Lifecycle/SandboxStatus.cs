namespace Sandbox.Lifecycle;

/// <summary>Where a sandbox is in its life (docs/lifecycle.md draws the transitions).</summary>
public enum SandboxStatus
{
    /// <summary>Made by <c>create</c> (state directory and spec), never started.</summary>
    Created,
    /// <summary>Its workload runs; an owner process holds it.</summary>
    Running,
    /// <summary>Running, with every process frozen (freezer cgroup / suspended domain).</summary>
    Paused,
    /// <summary>Its workload ended (or its owner died); the writable layer and log stay until <c>rm</c>.</summary>
    Stopped,
}
