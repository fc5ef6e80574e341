using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Sandbox.Core;

namespace Sandbox.Network;

/// <summary>
/// Tears down the network attachments of sandboxes whose owning process died (SIGKILL, a crash): CNI DEL from the
/// stored record against the still-pinned namespace, then the pin, the member-table entry and the directory.
/// Runs before every attach and from <c>sandbox prune</c>.
/// </summary>
public sealed class AttachmentReaper(SandboxPaths paths, ILogger logger, string? cniPath = null)
{
    public async Task<int> ReapAsync(CancellationToken cancellationToken = default)
    {
        var dir = NetworkAttacher.AttachmentsDir(paths);
        if (!Directory.Exists(dir)) return 0;
        int reaped = 0;
        foreach (var d in Directory.EnumerateDirectories(dir))
        {
            var id = Path.GetFileName(d);
            if (!File.Exists(Path.Combine(d, AttachmentState.LockName)))
            {
                // Mid-creation, or a crash right after mkdir.
                if (DateTime.UtcNow - Directory.GetCreationTimeUtc(d) < TimeSpan.FromMinutes(1)) continue;
                NetNamespace.Remove(Path.Combine(d, AttachmentState.NetnsName));
                try { Directory.Delete(d, recursive: true); } catch (IOException) { }
                reaped++;
                continue;
            }
            using var state = AttachmentState.TryAdopt(d);
            if (state is null) continue; // its owner is alive
            NetworkLog.Reaping(logger, id);
            if (AttachmentState.ReadRecord(d) is AttachmentRecord record)
            {
                try { new HostsTable(new NetworkStore(paths), record.Network).Remove(id); }
                catch (IOException e) { NetworkLog.CleanupFailed(logger, id, e.Message); }
                var chain = new Cni.CniChain((JsonObject)JsonNode.Parse(record.ConfList)!, cniPath ?? Cni.CniPlugin.DefaultPath);
                var ports = record.PortMappings is string pm ? JsonNode.Parse(pm) as JsonArray : null;
                var netns = NetNamespace.IsPinned(state.NetnsPath) ? state.NetnsPath : null;
                var runtime = new Cni.CniRuntime(id, netns, record.IfName, record.CniArgs, ports);
                try
                {
                    await chain.DelAsync(runtime, record.Result is string r ? JsonNode.Parse(r) as JsonObject : null, cancellationToken)
                        .ConfigureAwait(false);
                }
                catch (NetworkException e)
                {
                    NetworkLog.CleanupFailed(logger, id, e.Message);
                    if (e.Failure == NetworkFailure.PluginMissing) continue; // keep the record for a later prune
                }
            }
            NetNamespace.Remove(state.NetnsPath);
            state.Delete();
            reaped++;
        }
        return reaped;
    }
}
