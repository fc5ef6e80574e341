using System.Net;

namespace Sandbox.Core;

/// <summary>One /etc/hosts entry (<c>--add-host NAME:IP</c>).</summary>
public sealed record HostEntry(string Name, string Address)
{
    /// <summary>Parses docker's <c>NAME:IP</c> (an IPv6 address may follow the first colon; <c>NAME=IP</c> too).</summary>
    public static HostEntry Parse(string value)
    {
        int sep = value.IndexOfAny([':', '=']);
        if (sep <= 0 || sep == value.Length - 1)
            throw new ArgumentException($"invalid --add-host '{value}': expected NAME:IP");
        var name = value[..sep];
        var address = value[(sep + 1)..].Trim('[', ']');
        if (!IPAddress.TryParse(address, out _))
            throw new ArgumentException($"invalid --add-host '{value}': '{address}' is not an IP address");
        if (name.Any(c => char.IsWhiteSpace(c) || c == '#'))
            throw new ArgumentException($"invalid --add-host '{value}': bad host name");
        return new HostEntry(name, address);
    }

    public string ToHostsLine() => $"{Address}\t{Name}";
}
