using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Sandbox.Core;

namespace Sandbox.Network;

/// <summary>One sandbox's attachment. Disposing it: leave the member table, DEL the chain, unpin the namespace.</summary>
internal sealed class CniAttachment : INetworkAttachment
{
    private readonly AttachmentState _state;
    private readonly AttachmentRecord _record;
    private readonly Cni.CniChain _chain;
    private readonly Cni.CniRuntime _runtime;
    private readonly PortReservation _ports;
    private readonly HostsTable _table;
    private readonly ILogger _log;
    private readonly object _watchLock = new();
    private FileSystemWatcher? _watcher;
    private Action<IReadOnlyList<string>>? _hostsChanged;
    private string[] _lastHosts;
    private int _disposed;

    public CniAttachment(AttachmentState state, AttachmentRecord record, Cni.CniChain chain, Cni.CniRuntime runtime,
        PortReservation ports, HostsTable table, NetworkSettings settings, ILogger log)
    {
        _state = state;
        _record = record;
        _chain = chain;
        _runtime = runtime;
        _ports = ports;
        _table = table;
        Settings = settings;
        _log = log;
        _lastHosts = [.. settings.Hosts];
    }

    public NetworkSettings Settings { get; }

    public event Action<IReadOnlyList<string>>? HostsChanged
    {
        add
        {
            lock (_watchLock)
            {
                _hostsChanged += value;
                if (_watcher is null && _disposed == 0) StartWatching();
            }
        }
        remove { lock (_watchLock) _hostsChanged -= value; }
    }

    private void StartWatching()
    {
        var dir = Path.GetDirectoryName(_table.Path)!;
        _watcher = new FileSystemWatcher(dir, Path.GetFileName(_table.Path))
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
        };
        _watcher.Changed += (_, _) => OnTableChanged();
        _watcher.Created += (_, _) => OnTableChanged();
        _watcher.Renamed += (_, _) => OnTableChanged();
        _watcher.EnableRaisingEvents = true;
        // A member that joined between the attach and now.
        OnTableChanged();
    }

    private void OnTableChanged()
    {
        Action<IReadOnlyList<string>>? handler;
        string[] lines;
        lock (_watchLock)
        {
            if (_disposed != 0) return;
            lines = HostsTable.Lines(_table.Read()).ToArray();
            if (lines.SequenceEqual(_lastHosts)) return;
            _lastHosts = lines;
            handler = _hostsChanged;
        }
        try { handler?.Invoke(lines); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Interop.Libc.ErrnoException)
        {
            NetworkLog.CleanupFailed(_log, _record.Id, "updating /etc/hosts: " + e.Message);
        }
    }

    /// <summary>CNI CHECK: the plugins verify the interface, address, routes and rules are still in place.</summary>
    public Task CheckAsync(CancellationToken cancellationToken = default) =>
        _chain.CheckAsync(_runtime, (JsonObject)JsonNode.Parse(_record.Result!)!, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        lock (_watchLock)
        {
            _watcher?.Dispose();
            _watcher = null;
        }
        try { _table.Remove(_record.Id); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { NetworkLog.CleanupFailed(_log, _record.Id, e.Message); }
        try
        {
            var result = _record.Result is string r ? JsonNode.Parse(r) as JsonObject : null;
            await _chain.DelAsync(_runtime, result, CancellationToken.None).ConfigureAwait(false);
        }
        catch (NetworkException e)
        {
            // Leave the record: the reaper retries DEL once this process is gone.
            NetworkLog.CleanupFailed(_log, _record.Id, e.Message);
            _ports.Dispose();
            _state.Dispose();
            return;
        }
        NetNamespace.Remove(_state.NetnsPath);
        _state.Delete();
        _ports.Dispose();
        NetworkLog.Detached(_log, _record.Id, _record.Network);
    }
}
