using Microsoft.Extensions.Logging;
using Sandbox.Core;

namespace Sandbox.MicroVm;

/// <summary>
/// The host's steps of a VM start, one naming for both of their uses: each is a <see cref="SandboxTimings.Step"/>
/// (<c>--timings-detail</c>, <c>--timings-raw</c>, bench/vm-breakdown.sh) and, through
/// <see cref="LogEachStep"/>, the <c>--debug</c> line "sandbox start: STEP done at N ms" that KillAtPhaseTests kills at.
/// The protocol's own steps (<c>hello</c>, <c>start-sent</c>, <c>exit-received</c>) are recorded by InitSession and
/// logged the same way.
/// </summary>
internal static class StartPhase
{
    public const string LibvirtConnected = "libvirt-connected";
    public const string ImageAcquired = "image-acquired";
    public const string RunDirectory = "run-dir";
    /// <summary>Warm: a pool member's holder handed its guest over.</summary>
    public const string Claimed = "claimed";
    public const string CreateCalled = "create-called";
    /// <summary>virDomainCreateXML returned (cold), or the member's domain was adopted (warm).</summary>
    public const string DomainCreated = "domain-created";
    /// <summary>The workload's execve, as init reported it.</summary>
    public const string WorkloadStarted = "workload-started";
    public const string CleanedUp = "cleaned-up";

    /// <summary>Every step recorded in <paramref name="timings"/> from now on is also the phase's debug log line.</summary>
    public static void LogEachStep(SandboxTimings timings, ILogger log) =>
        timings.StepRecorded = (name, ns) => MicroVmLog.Phase(log, name, timings.SinceRequest(ns) ?? 0);
}
