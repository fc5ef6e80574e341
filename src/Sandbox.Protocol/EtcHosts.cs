using System.Text;

namespace Sandbox.Protocol;

/// <summary>The /etc/hosts a sandbox gets, rendered the same way by init (at start) and the host (live updates).</summary>
public static class EtcHosts
{
    public static string Render(string hostname, bool hostnameOnLoopback, IEnumerable<string> extraLines)
    {
        var hosts = new StringBuilder();
        hosts.Append("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        hosts.Append("fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
        if (hostnameOnLoopback) hosts.Append("127.0.1.1\t").Append(hostname).Append('\n');
        foreach (var h in extraLines) hosts.Append(h).Append('\n');
        return hosts.ToString();
    }
}
