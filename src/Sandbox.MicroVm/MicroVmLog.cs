using Microsoft.Extensions.Logging;
using Sandbox.Core;

namespace Sandbox.MicroVm;

/// <summary>The micro-VM backend's log messages.</summary>
internal static partial class MicroVmLog
{
    /// <summary>The same mark as the container backend's (tests kill the CLI at each one: KillAtPhaseTests).</summary>
    [LoggerMessage(Level = LogLevel.Debug, Message = "sandbox start: {Phase} done at {Milliseconds:0.0} ms")]
    public static partial void Phase(ILogger logger, string phase, double milliseconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "domain {Name} created ({Accelerator})")]
    public static partial void DomainCreated(ILogger logger, string name, Accelerator accelerator);

    [LoggerMessage(Level = LogLevel.Debug, Message = "domain {Name} destroyed")]
    public static partial void DomainDestroyed(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "destroying domain {Name} failed: {Message}")]
    public static partial void DestroyFailed(ILogger logger, string name, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "libvirt could not destroy domain {Name} ({Message}): killed its qemu (pid {Pid}) directly")]
    public static partial void QemuKilled(ILogger logger, string name, int pid, string message);

    [LoggerMessage(Level = LogLevel.Debug, Message = "domain {Name} was not created ({Message}), but its qemu ran: killed it (pid {Pid})")]
    public static partial void OrphanQemuKilled(ILogger logger, string name, int pid, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cleaning up after {Name} failed: {Message}")]
    public static partial void CleanupFailed(ILogger logger, string name, string message);

    [LoggerMessage(Level = LogLevel.Debug, Message = "KVM probe: {Result} ({Reason})")]
    public static partial void KvmProbed(ILogger logger, Accelerator result, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "removed stale domain {Name} (owner pid {Pid} is gone)")]
    public static partial void StaleDomainRemoved(ILogger logger, string name, int pid);

    [LoggerMessage(Level = LogLevel.Debug, Message = "domain {Name} XML: {Xml}")]
    public static partial void DomainXml(ILogger logger, string name, string xml);

    [LoggerMessage(Level = LogLevel.Debug, Message = "warm pool member {Id} ({Domain}) taken")]
    public static partial void PoolMemberClaimed(ILogger logger, string id, string domain);

    [LoggerMessage(Level = LogLevel.Information, Message = "warm pool member {Id}: {What}")]
    public static partial void PoolMemberEnded(ILogger logger, string id, string what);
}
