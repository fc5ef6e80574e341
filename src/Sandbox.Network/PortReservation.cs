using System.Net;
using System.Net.Sockets;
using Sandbox.Core;

namespace Sandbox.Network;

/// <summary>
/// Holds each published host port bound for the sandbox's life (podman does the same): a port another program
/// uses is one clear error before any rule exists, and no other program can take it while the DNAT rule points it
/// at the sandbox. Host port 0 (<c>-p 80</c>, <c>-P</c>) gets a free port from the kernel.
/// </summary>
internal sealed class PortReservation : IDisposable
{
    private readonly List<Socket> _sockets = [];

    public IReadOnlyList<PortMapping> Ports { get; private set; } = [];

    public static PortReservation Reserve(IReadOnlyList<PortMapping> requested)
    {
        var r = new PortReservation();
        var ports = new List<PortMapping>();
        try
        {
            foreach (var p in requested)
            {
                var ip = p.HostIp is null ? IPAddress.Any : IPAddress.Parse(p.HostIp);
                var socket = p.Protocol == "udp"
                    ? new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
                    : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                r._sockets.Add(socket);
                try { socket.Bind(new IPEndPoint(ip, p.HostPort)); }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
                {
                    throw new NetworkException(NetworkFailure.PortInUse,
                        $"cannot publish {p}: host port {(p.HostIp ?? "0.0.0.0")}:{p.HostPort}/{p.Protocol} is already in use", e);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
                {
                    throw new NetworkException(NetworkFailure.InvalidInput, $"cannot publish {p}: {p.HostIp} is not an address of this host", e);
                }
                int bound = ((IPEndPoint)socket.LocalEndPoint!).Port;
                ports.Add(p with { HostPort = bound });
            }
            foreach (var group in ports.GroupBy(x => (x.HostPort, x.Protocol)))
                if (group.Count() > 1 && group.Any(x => x.HostIp is null))
                    throw new NetworkException(NetworkFailure.PortInUse, $"host port {group.Key.HostPort}/{group.Key.Protocol} is published twice");
            r.Ports = ports;
            return r;
        }
        catch
        {
            r.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var s in _sockets) s.Dispose();
        _sockets.Clear();
    }
}
