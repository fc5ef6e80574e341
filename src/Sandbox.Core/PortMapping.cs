using System.Globalization;
using System.Net;

namespace Sandbox.Core;

/// <summary>A published port (<c>-p [IP:]HOSTPORT:PORT[/tcp|udp]</c>): traffic to HostIp:HostPort goes to the sandbox's Port.</summary>
public sealed record PortMapping(string? HostIp, int HostPort, int Port, string Protocol)
{
    /// <summary>
    /// Parses docker's forms: <c>PORT</c> (a free host port), <c>HOSTPORT:PORT</c>, <c>IP:HOSTPORT:PORT</c>,
    /// <c>IP::PORT</c>, each with an optional <c>/tcp</c> or <c>/udp</c>. Host port 0 means "pick a free one".
    /// </summary>
    public static PortMapping Parse(string value)
    {
        var spec = value;
        var protocol = "tcp";
        int slash = spec.LastIndexOf('/');
        if (slash >= 0)
        {
            protocol = spec[(slash + 1)..].ToLowerInvariant();
            spec = spec[..slash];
            if (protocol is not ("tcp" or "udp"))
                throw new ArgumentException($"invalid port mapping '{value}': protocol must be tcp or udp");
        }
        string? ip = null;
        string hostPort, port;
        int lastColon = spec.LastIndexOf(':');
        if (lastColon < 0)
        {
            hostPort = "";
            port = spec;
        }
        else
        {
            port = spec[(lastColon + 1)..];
            var head = spec[..lastColon];
            int colon = head.LastIndexOf(':');
            if (colon < 0) hostPort = head;
            else
            {
                ip = head[..colon].Trim('[', ']');
                hostPort = head[(colon + 1)..];
                if (ip.Split('.').Length != 4 || !IPAddress.TryParse(ip, out var addr)
                    || addr.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                    throw new ArgumentException($"invalid port mapping '{value}': '{ip}' is not an IPv4 address");
            }
        }
        int container = ParsePort(port, value, allowZero: false);
        int host = hostPort.Length == 0 ? 0 : ParsePort(hostPort, value, allowZero: false);
        return new PortMapping(ip, host, container, protocol);
    }

    /// <summary>
    /// <c>-P</c>: <paramref name="ports"/> plus each exposed port (<c>80/tcp</c>) not published already, on a free host port.
    /// </summary>
    public static IReadOnlyList<PortMapping> WithExposed(IReadOnlyList<PortMapping> ports, IEnumerable<string> exposed)
    {
        var result = new List<PortMapping>(ports);
        foreach (var e in exposed)
        {
            PortMapping p;
            try { p = Parse(e); }
            catch (ArgumentException) { continue; } // a range or garbage in the image: docker skips what it cannot publish
            if (!result.Any(r => r.Port == p.Port && r.Protocol == p.Protocol)) result.Add(p with { HostPort = 0 });
        }
        return result;
    }

    private static int ParsePort(string text, string value, bool allowZero)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p > 65535 || (p == 0 && !allowZero))
            throw new ArgumentException($"invalid port mapping '{value}': '{text}' is not a port (1-65535)");
        return p;
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{(HostIp is null ? "" : HostIp + ":")}{HostPort}:{Port}/{Protocol}");
}
