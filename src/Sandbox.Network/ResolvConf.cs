using System.Net;
using System.Text;

namespace Sandbox.Network;

/// <summary>
/// The sandbox's /etc/resolv.conf, as docker builds it: the host's file with loopback resolvers (127.0.0.0/8, ::1,
/// e.g. systemd-resolved's 127.0.0.53) dropped, since they are the host's own loopback and unreachable from the
/// sandbox. When none remains, docker falls back to public resolvers; these hosts have no internet, so the bridge's
/// gateway is used instead (it answers when the host runs a resolver on its addresses). <c>--dns</c> replaces the list.
/// </summary>
internal static class ResolvConf
{
    public static string Build(string hostFileText, IReadOnlyList<string> dns, string? gateway)
    {
        var servers = new List<string>();
        var other = new List<string>();
        foreach (var raw in hostFileText.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields[0] == "nameserver" && fields.Length > 1)
            {
                if (IPAddress.TryParse(fields[1].Split('%')[0], out var ip) && !IPAddress.IsLoopback(ip)) servers.Add(fields[1]);
            }
            else if (fields[0] is "search" or "domain" or "options") other.Add(line);
        }
        if (dns.Count > 0) servers = [.. dns];
        else if (servers.Count == 0 && gateway is not null) servers.Add(gateway);
        var sb = new StringBuilder();
        foreach (var s in servers) sb.Append("nameserver ").Append(s).Append('\n');
        foreach (var o in other) sb.Append(o).Append('\n');
        return sb.ToString();
    }

    public static string ReadHost()
    {
        try { return File.ReadAllText("/etc/resolv.conf"); }
        catch (IOException) { return ""; }
    }
}
