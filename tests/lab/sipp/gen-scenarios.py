#!/usr/bin/env python3
# Generates the sipp scenarios of this folder (run it after editing; the XML files are committed).
import os
D=os.path.dirname(os.path.abspath(__file__))+'/'
SDP_G711='''v=0
      o=sipp [pid][call_number] 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 8 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=ptime:20
      a=sendrecv'''
SDP_AMR='''v=0
      o=sipp [pid][call_number] 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 104 102 105 100
      b=AS:41
      a=rtpmap:104 AMR-WB/16000/1
      a=fmtp:104 mode-change-capability=2;max-red=0
      a=rtpmap:102 AMR/8000/1
      a=fmtp:102 mode-change-capability=2;max-red=0
      a=rtpmap:105 telephone-event/16000
      a=fmtp:105 0-15
      a=rtpmap:100 telephone-event/8000
      a=fmtp:100 0-15
      a=ptime:20
      a=maxptime:240
      a=sendrecv'''
HDR='''<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- %s -->
<scenario name="%s">
'''
def reply(code, reason, totag=True, sdp=None, rr=True, retrans=False, contact=True):
    s='  <send%s>\n    <![CDATA[\n      SIP/2.0 %s %s\n      [last_Via:]\n      [last_From:]\n      [last_To:]%s\n      [last_Call-ID:]\n      [last_CSeq:]\n' % (' retrans="500"' if retrans else '', code, reason, ';tag=[pid]SIPpTag01[call_number]' if totag else '')
    if rr: s+='      [last_Record-Route:]\n'
    if contact: s+='      Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>\n'
    if sdp:
        s+='      Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, UPDATE, INFO\n      Content-Type: application/sdp\n      Content-Length: [len]\n\n      '+sdp+'\n\n    ]]>\n  </send>\n'
    else:
        s+='      Content-Length: 0\n\n    ]]>\n  </send>\n'
    return s
RECV_INVITE='''  <recv request="INVITE" crlf="true" rrs="true">
    <action>
      <ereg regexp="m=audio [0-9]+ [A-Z/]+ " search_in="body" check_it="true" assign_to="offer"/>
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="rfrom"/>
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="lto"/>
      <ereg regexp="Via: [^[:cntrl:]]*([[:cntrl:]]+Via: [^[:cntrl:]]*)*" search_in="msg" check_it="true" assign_to="vias"/>
    </action>
  </recv>
  <Reference variables="offer,rfrom,lto,vias"/>
'''
def answer(sdp):
    return RECV_INVITE + reply(180,'Ringing') + '  <pause variable="answer_delay"/>\n' + reply(200,'OK',sdp=sdp,retrans=True) + '  <recv request="ACK" crlf="true"/>\n'
WAIT_BYE='''  <recv request="BYE"/>
'''+reply(200,'OK',totag=False,rr=False,contact=False)+'''  <pause milliseconds="500"/>
'''
SEND_BYE='''  <pause variable="bye_delay"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      Max-Forwards: 70
      From: [$lto];tag=[pid]SIPpTag01[call_number]
      To: [$rfrom]
      [last_Call-ID:]
      CSeq: 1 BYE
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
'''
REINVITE='''  <recv request="INVITE" crlf="true">
    <action>
      <ereg regexp="m=audio [0-9]+ [A-Z/]+ " search_in="body" check_it="true" assign_to="reoffer"/>
    </action>
  </recv>
  <Reference variables="reoffer"/>
'''+reply(200,'OK',totag=False,rr=False,sdp=SDP_G711,retrans=True)+'''  <recv request="ACK" crlf="true"/>
'''
NOTE_UAS='Keys: -key answer_delay MS (delay between 180 and 200)'
import re as _re
def w(name, desc, body):
    g=sorted(set(_re.findall(r'<pause variable="(\w+)"', body)))
    glob=('  <Global variables="%s"/>\n' % ','.join(g)) if g else ''
    open(D+name,'w').write(HDR%(desc,name)+glob+body+'</scenario>\n')
w('uas.xml','UAS: answer an INVITE (180, then 200 with PCMU/PCMA SDP), ACK, wait for the caller\'s BYE. '+NOTE_UAS, answer(SDP_G711)+WAIT_BYE)
w('uas_bye.xml','UAS: answer an INVITE (PCMU/PCMA), ACK, then send BYE itself after -key bye_delay MS. '+NOTE_UAS, answer(SDP_G711)+SEND_BYE)
w('uas_reinvite.xml','UAS: answer an INVITE, ACK, then answer a re-INVITE in the dialog (200 with SDP, ACK), then wait for BYE. '+NOTE_UAS, answer(SDP_G711)+REINVITE+WAIT_BYE)
w('uas_amr.xml','UAS (VoLTE-like phone): answer with AMR-WB/AMR only, ACK, wait for BYE. Use with -rtp_echo. '+NOTE_UAS, answer(SDP_AMR)+WAIT_BYE)
# the echo phone answers plain RTP/AVP with the first codec of the offer, with
# that codec's rtpmap and fmtp lines when the offer has them (each captured with
# the line break before it, so an absent one leaves no empty line)
RECV_INVITE_ECHO=RECV_INVITE.replace('      <ereg regexp=".*" search_in="hdr" header="From:"',
'''      <ereg regexp="m=audio [0-9]+ [A-Z/]+ ([0-9]+)" search_in="body" check_it="true" assign_to="mline,pt"/>
      <ereg regexp="m=audio [0-9]+ [A-Z/]+ ([0-9]+).*[^[:cntrl:]]([[:cntrl:]]+a=rtpmap:\\1 [^[:cntrl:]]*)" search_in="body" check_it="false" assign_to="rtpmap_all,rtpmap_pt,rtpmap"/>
      <ereg regexp="m=audio [0-9]+ [A-Z/]+ ([0-9]+).*[^[:cntrl:]]([[:cntrl:]]+a=fmtp:\\1 [^[:cntrl:]]*)" search_in="body" check_it="false" assign_to="fmtp_all,fmtp_pt,fmtp"/>
      <ereg regexp=".*" search_in="hdr" header="From:"''').replace('<Reference variables="offer,','<Reference variables="mline,rtpmap_all,rtpmap_pt,fmtp_all,fmtp_pt,offer,')
SDP_ECHO='''v=0
      o=sipp [pid][call_number] 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP [$pt][$rtpmap][$fmtp]
      a=ptime:20
      a=sendrecv'''
w('uas_echo.xml','UAS (an RTP echo phone, run with -rtp_echo): answer an INVITE with plain RTP/AVP, only the first codec of the offer (its rtpmap/fmtp copied), ACK, wait for BYE. The received SDP is in the -message_file log. '+NOTE_UAS,
  RECV_INVITE_ECHO+reply(180,'Ringing')+'  <pause variable="answer_delay"/>\n'+reply(200,'OK',sdp=SDP_ECHO,retrans=True)+'  <recv request="ACK" crlf="true"/>\n'+WAIT_BYE)
# the echo phone with DTMF: also the offer's telephone-event/48000 (the clock of
# Opus, which the werift client offers first), for RFC 4733 echo tests
RECV_INVITE_ECHO_TE=RECV_INVITE_ECHO.replace('      <ereg regexp=".*" search_in="hdr" header="From:"',
'''      <ereg regexp="([[:cntrl:]]+a=rtpmap:([0-9]+) telephone-event/48000)" search_in="body" check_it="true" assign_to="te_all,te_map,te_pt"/>
      <ereg regexp=".*" search_in="hdr" header="From:"''').replace('<Reference variables="mline,','<Reference variables="te_all,mline,')
SDP_ECHO_TE=SDP_ECHO.replace('m=audio [media_port] RTP/AVP [$pt][$rtpmap][$fmtp]','m=audio [media_port] RTP/AVP [$pt] [$te_pt][$rtpmap][$fmtp][$te_map]')
w('uas_echo_te.xml','UAS (an RTP echo phone with telephone-event, run with -rtp_echo): like uas_echo.xml, and the offer\'s telephone-event/48000 answered too (the offer must have one). '+NOTE_UAS,
  RECV_INVITE_ECHO_TE+reply(180,'Ringing')+'  <pause variable="answer_delay"/>\n'+reply(200,'OK',sdp=SDP_ECHO_TE,retrans=True)+'  <recv request="ACK" crlf="true"/>\n'+WAIT_BYE)

# the audio+video echo phone: the echo phone's audio answer plus a video m-line
# on [media_port+2] (where sipp -rtp_echo also reflects RTP) with the first
# video codec of the offer (its rtpmap/fmtp copied) and the feedback an IMS
# video phone offers (nack, nack pli, ccm fir); an offer without video fails
RECV_INVITE_ECHO_AV=RECV_INVITE_ECHO.replace('      <ereg regexp=".*" search_in="hdr" header="From:"',
'''      <ereg regexp="m=video [0-9]+ [A-Z/]+ ([0-9]+)" search_in="body" check_it="true" assign_to="vmline,vpt"/>
      <ereg regexp="m=video [0-9]+ [A-Z/]+ ([0-9]+).*[^[:cntrl:]]([[:cntrl:]]+a=rtpmap:\\1 [^[:cntrl:]]*)" search_in="body" check_it="true" assign_to="vrtpmap_all,vrtpmap_pt,vrtpmap"/>
      <ereg regexp="m=video [0-9]+ [A-Z/]+ ([0-9]+).*[^[:cntrl:]]([[:cntrl:]]+a=fmtp:\\1 [^[:cntrl:]]*)" search_in="body" check_it="false" assign_to="vfmtp_all,vfmtp_pt,vfmtp"/>
      <ereg regexp=".*" search_in="hdr" header="From:"''').replace('<Reference variables="mline,','<Reference variables="vmline,vrtpmap_all,vrtpmap_pt,vfmtp_all,vfmtp_pt,mline,')
SDP_ECHO_AV=SDP_ECHO+'''
      m=video [media_port+2] RTP/AVP [$vpt][$vrtpmap][$vfmtp]
      a=rtcp-fb:[$vpt] nack
      a=rtcp-fb:[$vpt] nack pli
      a=rtcp-fb:[$vpt] ccm fir
      a=sendrecv'''
w('uas_echo_av.xml','UAS (an audio+video RTP echo phone, run with -rtp_echo): answer an INVITE with plain RTP/AVP, audio on the media port with the first audio codec of the offer, video on media port + 2 with the first video codec of the offer (rtpmap/fmtp copied, rtcp-fb nack, nack pli, ccm fir), ACK, wait for BYE. An offer without video fails the scenario. The received SDP is in the -message_file log. '+NOTE_UAS,
  RECV_INVITE_ECHO_AV+reply(180,'Ringing')+'  <pause variable="answer_delay"/>\n'+reply(200,'OK',sdp=SDP_ECHO_AV,retrans=True)+'  <recv request="ACK" crlf="true"/>\n'+WAIT_BYE)
w('uas_cancel.xml','UAS: receive an INVITE, send 180, never answer; expect CANCEL, reply 200 to it and 487 to the INVITE, get the ACK.',
  RECV_INVITE+reply(180,'Ringing')+'''  <recv request="CANCEL"/>
'''+reply(200,'OK',totag=False,rr=False,contact=False).replace('[last_','[last_')+'''  <send>
    <![CDATA[
      SIP/2.0 487 Request Terminated
      [$vias]
      From:[$rfrom]
      To:[$lto];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: [last_cseq_number] INVITE
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
''')
w('uas_message.xml','UAS: receive a MESSAGE with a non-empty body, reply 200 (tests check the body in the -message_file log).',
'''  <recv request="MESSAGE" crlf="true">
    <action>
      <ereg regexp="." search_in="body" check_it="true" assign_to="txt"/>
    </action>
  </recv>
  <Reference variables="txt"/>
'''+reply(200,'OK',contact=False,rr=False)+'''  <pause milliseconds="200"/>
''')
w('uas_options.xml','UAS: answer an out-of-dialog OPTIONS with 200.',
'''  <recv request="OPTIONS" crlf="true"/>
'''+reply(200,'OK',rr=False)+'''  <pause milliseconds="200"/>
''')
# ---------------- UAC side ----------------
def uac_invite(sdp, cseq1=1, cseq2=2):
    inv='''  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@ims.lab SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      From: <sip:[caller]@ims.lab>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@ims.lab>
      Call-ID: [call_id]
      CSeq: %d INVITE
      Contact: <sip:[caller]@[local_ip]:[local_port];transport=[transport]>
      %sAllow: INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, UPDATE, INFO
      Content-Type: application/sdp
      Content-Length: [len]

      '''+sdp+'''

    ]]>
  </send>
'''
    return inv.replace(' start_txn="inv%d"','')
SDP=SDP_G711
UAC_HEAD = uac_invite(SDP)%(1,'') + '''  <recv response="100" optional="true"/>
  <recv response="407" optional="true" auth="true" next="auth"/>
  <recv response="401" optional="true" auth="true" next="auth"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true" next="ack"/>
  <label id="auth"/>
  <send>
    <![CDATA[
      ACK sip:[service]@ims.lab SIP/2.0
      [last_Via:]
      Max-Forwards: 70
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 1 ACK
      Content-Length: 0

    ]]>
  </send>
''' + uac_invite(SDP)%(2,'[authentication]\n      ') + '''  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true"/>
  <label id="ack"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      Max-Forwards: 70
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: [last_cseq_number] ACK
      Content-Length: 0

    ]]>
  </send>
'''
UAC_BYE='''  <pause variable="hold_ms"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      Max-Forwards: 70
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 10 BYE
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
'''
w('uac.xml','UAC: INVITE sip:[service]@ims.lab (PCMU/PCMA) as -key caller USER, handles an optional 401/407 challenge (-au/-ap), ACK, keeps the call -key hold_ms MS, BYE.', UAC_HEAD+UAC_BYE)
w('uac_wait_bye.xml','UAC: INVITE sip:[service]@ims.lab as -key caller USER (optional 401/407), ACK, then wait for the callee to send BYE.', UAC_HEAD+'''  <recv request="BYE"/>
'''+reply(200,'OK',totag=False,rr=False,contact=False)+'''  <pause milliseconds="500"/>
''')
w('uac_cancel.xml','UAC: INVITE sip:[service]@ims.lab as -key caller USER, CANCEL after the 180, expect 200 (CANCEL) and 487 (INVITE), ACK.',
'''  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@ims.lab SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      From: <sip:[caller]@ims.lab>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@ims.lab>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:[caller]@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      '''+SDP+'''

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180"/>
  <pause variable="cancel_delay"/>
  <send retrans="500">
    <![CDATA[
      CANCEL sip:[service]@ims.lab SIP/2.0
      [last_Via:]
      Max-Forwards: 70
      From: <sip:[caller]@ims.lab>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@ims.lab>
      Call-ID: [call_id]
      CSeq: 1 CANCEL
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
  <recv response="487"/>
  <send>
    <![CDATA[
      ACK sip:[service]@ims.lab SIP/2.0
      [last_Via:]
      Max-Forwards: 70
      From: <sip:[caller]@ims.lab>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="200"/>
''')
w('uac_message.xml','UAC: MESSAGE sip:[service]@ims.lab from -key caller USER with body -key text TEXT, optional 401/407, expect 200/202.',
'''  <send retrans="500">
    <![CDATA[
      MESSAGE sip:[service]@ims.lab SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      From: <sip:[caller]@ims.lab>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@ims.lab>
      Call-ID: [call_id]
      CSeq: 1 MESSAGE
      Content-Type: text/plain
      Content-Length: [len]

      [text]
    ]]>
  </send>
  <recv response="202" optional="true" next="done"/>
  <recv response="200"/>
  <label id="done"/>
''')
w('uac_options.xml','UAC: OPTIONS to -key target URI (e.g. sip:127.0.0.1:5070 or sip:ue1@ims.lab), expect 200.',
'''  <send retrans="500">
    <![CDATA[
      OPTIONS [target] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      From: <sip:[caller]@ims.lab>;tag=[pid]SIPpTag00[call_number]
      To: <[target]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Accept: application/sdp
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
''')
# in-dialog request to a stale dialog: expects a given final code class
w('uac_fail.xml','UAC: INVITE sip:[service]@ims.lab as -key caller USER and expect it to be refused with 430 (Flow Failed) or 480 (Temporarily Unavailable); ACK the failure. Any other final response fails the scenario.',
  (uac_invite(SDP)%(1,'')).replace('retrans="500" start_txn="inv1"','retrans="500"') + '''  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="430" optional="true" next="ack"/>
  <recv response="480" next="ack"/>
  <label id="ack"/>
  <send>
    <![CDATA[
      ACK sip:[service]@ims.lab SIP/2.0
      [last_Via:]
      Max-Forwards: 70
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 1 ACK
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="200"/>
''')
w('uas_after_drop.xml','UAS: answer an INVITE, ACK, receive the BYE that the gateway sends when the caller\'s WebSocket is gone, reply 200; then send another in-dialog request (BYE, CSeq 2) for the same dialog and expect it to be refused with 430 (Flow Failed) or 480. '+NOTE_UAS,
  answer(SDP_G711)+'''  <recv request="BYE"/>
'''+reply(200,'OK',totag=False,rr=False,contact=False)+'''  <pause milliseconds="500"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      Max-Forwards: 70
      From: [$lto];tag=[pid]SIPpTag01[call_number]
      To: [$rfrom]
      [last_Call-ID:]
      CSeq: 2 BYE
      Content-Length: 0

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="430" optional="true" next="done"/>
  <recv response="480" next="done"/>
  <label id="done"/>
''')
w('uac_reinvite.xml','UAC: INVITE sip:[service]@ims.lab as -key caller USER (optional 401/407), ACK, then after -set hold_ms a re-INVITE with a new SDP version (a=sendonly: hold), expect 200 with SDP, ACK, then BYE.',
  UAC_HEAD + '''  <pause variable="hold_ms"/>
  <send retrans="500">
    <![CDATA[
      INVITE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      Max-Forwards: 70
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 5 INVITE
      Contact: <sip:[caller]@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      ''' + SDP_G711.replace('o=sipp [pid][call_number] 1 IN','o=sipp [pid][call_number] 2 IN').replace('a=sendrecv','a=sendonly') + '''

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200">
    <action>
      <ereg regexp="a=(recvonly|inactive)" search_in="body" check_it="true" assign_to="holdans"/>
    </action>
  </recv>
  <Reference variables="holdans"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      Max-Forwards: 70
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 5 ACK
      Content-Length: 0

    ]]>
  </send>
''' + UAC_BYE)
# ---------------- every method through the gateway (test_iwu_methods, test_iwu_tls_core) ----------------
def indlg_req(method, cseq, extra='', body=None, ctype=None, frm='[$lto];tag=[pid]SIPpTag01[call_number]', to='[$rfrom]'):
    s='''  <send retrans="500">
    <![CDATA[
      %s [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      Max-Forwards: 70
      From: %s
      To: %s
      [last_Call-ID:]
      CSeq: %d %s
      Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
%s''' % (method, frm, to, cseq, method, ''.join('      %s\n' % x for x in extra.split('|') if x))
    if body is not None:
        s+='      Content-Type: %s\n      Content-Length: [len]\n\n      %s\n\n    ]]>\n  </send>\n' % (ctype, body)
    else:
        s+='      Content-Length: 0\n\n    ]]>\n  </send>\n'
    return s
def indlg_reply(code, reason, extra='', sdp=None):
    r=reply(code, reason, totag=False, rr=False, contact=True, sdp=sdp)
    if extra:
        r=r.replace('      Content-', ''.join('      %s\n' % x for x in extra.split('|'))+'      Content-', 1)
    return r
PROXY_AUTH='Digest realm="ims.lab", nonce="wims407-[pid]-[call_number]-Zm9v/+=", opaque="wims-opaque-7", algorithm=MD5, qop="auth"'
w('uas_methods.xml','UAS for a WebSocket caller: the first INVITE gets 407 with a recognisable Proxy-Authenticate (nonce wims407-...), the retried INVITE must carry Proxy-Authorization with that nonce; 180, 200, ACK; then in the dialog: INFO (200), UPDATE with SDP (200 with SDP), REFER (202, then a NOTIFY with sipfrag 200 whose 200 must come back), BYE (200). '+NOTE_UAS,
'''  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 407 Proxy Authentication Required
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag07[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Proxy-Authenticate: '''+PROXY_AUTH+'''
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
'''+RECV_INVITE.replace('      <ereg regexp="Via:','      <ereg regexp="nonce=&quot;wims407-[0-9]+-[0-9]+-Zm9v/[+]=&quot;" search_in="hdr" header="Proxy-Authorization:" check_it="true" assign_to="pauth"/>\n      <ereg regexp="Via:').replace('offer,rfrom,lto,vias','offer,rfrom,lto,vias,pauth')
+reply(180,'Ringing')+'  <pause variable="answer_delay"/>\n'+reply(200,'OK',sdp=SDP_G711,retrans=True)+'''  <recv request="ACK" crlf="true"/>
  <recv request="INFO">
    <action>
      <ereg regexp="info-from-[a-z]+" search_in="body" check_it="true" assign_to="info"/>
    </action>
  </recv>
  <Reference variables="info"/>
'''+indlg_reply(200,'OK')+'''  <recv request="UPDATE">
    <action>
      <ereg regexp="m=audio [0-9]+ [A-Z/]+ " search_in="body" check_it="true" assign_to="upd"/>
    </action>
  </recv>
  <Reference variables="upd"/>
'''+indlg_reply(200,'OK',sdp=SDP_G711.replace('o=sipp [pid][call_number] 1 IN','o=sipp [pid][call_number] 2 IN'))+'''  <recv request="REFER">
    <action>
      <ereg regexp="sip:[a-z0-9]+@ims.lab" search_in="hdr" header="Refer-To:" check_it="true" assign_to="referto"/>
      <ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" check_it="true" assign_to="refid"/>
    </action>
  </recv>
  <Reference variables="referto"/>
'''+indlg_reply(202,'Accepted')+'''  <pause milliseconds="100"/>
'''+indlg_req('NOTIFY',2,'Event: refer;id=[$refid]|Subscription-State: terminated;reason=noresource',body='SIP/2.0 200 OK',ctype='message/sipfrag;version=2.0')+'''  <recv response="200"/>
'''+WAIT_BYE)
# a request to answer later, after another message arrived (sipp aborts on a
# message that arrives while it is at a <send>): keep its Via, From, To, CSeq lines
def capture_req(p):
    return ''.join('      <ereg regexp="%s" search_in="msg" check_it="true" assign_to="%s%s"/>\n' % (re_, p, n) for n, re_ in (
        ('vias', 'Via: [^[:cntrl:]]*([[:cntrl:]]+Via: [^[:cntrl:]]*)*'), ('from', 'From: [^[:cntrl:]]*'),
        ('to', 'To: [^[:cntrl:]]*'), ('cseq', 'CSeq: [^[:cntrl:]]*')))
def reply_captured(p, nxt):
    return '''  <send next="%s">
    <![CDATA[
      SIP/2.0 200 OK
      [$%svias]
      [$%sfrom]
      [$%sto]
      [last_Call-ID:]
      [$%scseq]
      Content-Length: 0

    ]]>
  </send>
  <Reference variables="%svias,%sfrom,%sto,%scseq"/>
''' % ((nxt,) + (p,) * 8)
w('uac_methods.xml','UAC toward a WebSocket callee: INVITE sip:[service]@ims.lab as -key caller USER (optional 401/407), ACK, then in the dialog: INFO (body info-from-[caller], expects 200), UPDATE with SDP (expects 200 with SDP), REFER to sip:carol@ims.lab (expects 202 and the NOTIFYs of the callee: sipfrag 100 then 603 when it declines; answers each 200), BYE. The callee must decline the REFER a moment after the 202.',
  UAC_HEAD.replace('  <recv response="200" rrs="true"/>\n  <label id="ack"/>','  <recv response="200" rrs="true"/>\n  <label id="ack"/>\n  <pause milliseconds="0"/>')+'''  <pause milliseconds="300"/>
'''+indlg_req('INFO',3,body='info-from-[caller]',ctype='application/x-wims-test',frm='[last_From:]',to='[last_To:]').replace('      From: [last_From:]','      [last_From:]').replace('      To: [last_To:]','      [last_To:]')+'''  <recv response="200">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="myfrom"/>
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="myto"/>
    </action>
  </recv>
'''+indlg_req('UPDATE',4,body=SDP_G711.replace('o=sipp [pid][call_number] 1 IN','o=sipp [pid][call_number] 2 IN'),ctype='application/sdp',frm='[$myfrom]',to='[$myto]')+'''  <recv response="200">
    <action>
      <ereg regexp="m=audio [0-9]+ [A-Z/]+ " search_in="body" check_it="true" assign_to="updans"/>
    </action>
  </recv>
  <Reference variables="updans"/>
'''+indlg_req('REFER',5,'Refer-To: <sip:carol@ims.lab>|Referred-By: <sip:[caller]@ims.lab>',frm='[$myfrom]',to='[$myto]')+'''  <recv response="202" optional="true" next="got202"/>
  <recv request="NOTIFY">
    <action>
'''+capture_req('n1')+'''    </action>
  </recv>
  <recv response="202"/>
'''+reply_captured('n1','final')+'''  <label id="got202"/>
  <recv request="NOTIFY"/>
'''+indlg_reply(200,'OK')+'''  <label id="final"/>
  <recv request="NOTIFY">
    <action>
      <ereg regexp="SIP/2.0 603" search_in="body" check_it="true" assign_to="declined"/>
    </action>
  </recv>
  <Reference variables="declined"/>
'''+indlg_reply(200,'OK')+'''  <pause milliseconds="200"/>
'''+indlg_req('BYE',10,frm='[$myfrom]',to='[$myto]')+'''  <recv response="200" crlf="true"/>
''')
w('uas_subscribe.xml','Notifier: an out-of-dialog SUBSCRIBE (any Event) gets 200 with Expires 60, then a NOTIFY (Subscription-State: active, body wims-notify-active) whose 200 must come back; the un-SUBSCRIBE (Expires: 0) gets 200 and a final NOTIFY (terminated, body wims-notify-final).',
'''  <recv request="SUBSCRIBE" crlf="true" rrs="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="rfrom"/>
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="lto"/>
      <ereg regexp="[^[:space:];]+" search_in="hdr" header="Event:" check_it="true" assign_to="event"/>
    </action>
  </recv>
  <Reference variables="rfrom"/>
'''+reply(200,'OK').replace('      Content-Length','      Expires: 60\n      Content-Length')+'''  <pause milliseconds="100"/>
'''+indlg_req('NOTIFY',1,'Event: [$event]|Subscription-State: active;expires=60',body='wims-notify-active',ctype='text/plain')+'''  <recv response="200"/>
  <recv request="SUBSCRIBE">
    <action>
      <ereg regexp="^ *0 *$" search_in="hdr" header="Expires:" check_it="true" assign_to="unsub"/>
    </action>
  </recv>
  <Reference variables="unsub"/>
'''+indlg_reply(200,'OK','Expires: 0')+'''  <pause milliseconds="100"/>
'''+indlg_req('NOTIFY',2,'Event: [$event]|Subscription-State: terminated;reason=timeout',body='wims-notify-final',ctype='text/plain')+'''  <recv response="200"/>
  <pause milliseconds="200"/>
''')
w('uas_publish.xml','UAS: answer a PUBLISH (Event: presence, a body) with 200, SIP-ETag: wims-etag-[pid] and Expires: 60.',
'''  <recv request="PUBLISH" crlf="true">
    <action>
      <ereg regexp="presence" search_in="hdr" header="Event:" check_it="true" assign_to="event"/>
      <ereg regexp="." search_in="body" check_it="true" assign_to="txt"/>
    </action>
  </recv>
  <Reference variables="event,txt"/>
'''+reply(200,'OK',contact=False,rr=False).replace('      Content-Length','      SIP-ETag: wims-etag-[pid]\n      Expires: 60\n      Content-Length')+'''  <pause milliseconds="200"/>
''')
# every Via line of the INVITE, also when other lines sit between them (a P-CSCF
# that puts its Record-Route under its Via): from the first Via to the last one;
# sent back after the first Record-Route block so that each header keeps its order
VIAS_ADJ='"Via: [^[:cntrl:]]*([[:cntrl:]]+Via: [^[:cntrl:]]*)*"'
VIAS_GAPS='"Via: .*Via: [^[:cntrl:]]*|Via: [^[:cntrl:]]*"'
w('uas_prack.xml','UAS with reliable provisional responses (RFC 3262): INVITE, 180 with Require: 100rel and RSeq: 1, expects PRACK (RAck: 1 <cseq> INVITE) and answers it 200, then 200 to the INVITE (PCMU/PCMA), ACK, waits for BYE. '+NOTE_UAS,
  RECV_INVITE.replace('      <ereg regexp="Via:','      <ereg regexp="Record-Route: [^[:cntrl:]]*([[:cntrl:]]+Record-Route: [^[:cntrl:]]*)*" search_in="msg" check_it="true" assign_to="rrs"/>\n      <ereg regexp="CSeq: [0-9]+ INVITE" search_in="msg" check_it="true" assign_to="invcseq"/>\n      <ereg regexp="Via:').replace('offer,rfrom,lto,vias','offer,rfrom,lto,vias,rrs,invcseq').replace(VIAS_ADJ, VIAS_GAPS)+reply(180,'Ringing').replace('      Content-Length','      Require: 100rel\n      RSeq: 1\n      Content-Length')+'''  <recv request="PRACK">
    <action>
      <ereg regexp="^ *1 [0-9]+ INVITE" search_in="hdr" header="RAck:" check_it="true" assign_to="rack"/>
    </action>
  </recv>
  <Reference variables="rack"/>
'''+reply(200,'OK',totag=False,rr=False,contact=False)+'''  <pause variable="answer_delay"/>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [$rrs]
      [$vias]
      From:[$rfrom]
      To:[$lto];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [$invcseq]
      Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      '''+SDP_G711+'''

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
'''+WAIT_BYE)
def sub_req(cseq, expires, first):
    return '''  <send retrans="500">
    <![CDATA[
      SUBSCRIBE %s SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
%s      Max-Forwards: 70
      From: <sip:[caller]@ims.lab>;tag=[pid]SIPpTag00[call_number]
      To: %s
      Call-ID: [call_id]
      CSeq: %d SUBSCRIBE
      Contact: <sip:[caller]@[local_ip]:[local_port];transport=[transport]>
      Event: wims-test
      Expires: %d
      Accept: text/plain
      Content-Length: 0

    ]]>
  </send>
''' % ('sip:[service]@ims.lab' if first else '[next_url]', '' if first else '      [routes]\n', '<sip:[service]@ims.lab>' if first else '[$dto]', cseq, expires)
SUB_200='''  <recv response="200"%s rrs="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="dto"/>
      <ereg regexp="^ *%s *$" search_in="hdr" header="Expires:" check_it="true" assign_to="exp%s"/>
    </action>
  </recv>
'''
def sub_notify(state, var, later=None):
    r='''  <recv request="NOTIFY">
    <action>
      <ereg regexp="^ *%s" search_in="hdr" header="Subscription-State:" check_it="true" assign_to="%s"/>
%s    </action>
  </recv>
''' % (state, var, capture_req(later[0]) if later else '')
    if later: # answered after the 200 that is still to come (later = (prefix, the 200 recv, next label))
        return r + later[1] + reply_captured(later[0], later[2])
    return r + indlg_reply(200,'OK')
w('uac_subscribe.xml','Subscriber: SUBSCRIBE sip:[service]@ims.lab (Event: wims-test, Expires 60) as -key caller USER; expects 200 and a NOTIFY (active) in either order, answers 200; then un-SUBSCRIBE (Expires: 0) in the dialog, expects 200 and the final NOTIFY (terminated) in either order.',
  sub_req(1,60,True)+SUB_200 % (' optional="true" next="ok1"','[0-9]+','1')+sub_notify('active','st1',('n1',SUB_200 % ('','[0-9]+','1'),'unsub'))+'''  <label id="ok1"/>
'''+sub_notify('active','st1')+'''  <label id="unsub"/>
  <Reference variables="st1,exp1"/>
  <pause milliseconds="100"/>
'''+sub_req(2,0,False)+SUB_200 % (' optional="true" next="ok2"','0','2')+sub_notify('terminated','st2',('n2',SUB_200 % ('','0','2'),'done'))+'''  <label id="ok2"/>
'''+sub_notify('terminated','st2')+'''  <label id="done"/>
  <Reference variables="st2,exp2,dto"/>
  <pause milliseconds="200"/>
''')
w('uac_prack.xml','UAC toward a UAS with reliable provisional responses (RFC 3262): INVITE sip:[service]@ims.lab as -key caller USER with Supported: 100rel, expects 180 with Require: 100rel and RSeq: 1, PRACKs it (RAck: 1 1 INVITE) and expects 200, then the 200 to the INVITE, ACK, BYE after -set hold_ms.',
(uac_invite(SDP)%(1,'Supported: 100rel\n      ')) + '''  <recv response="100" optional="true"/>
  <recv response="180" rrs="true">
    <action>
      <ereg regexp="100rel" search_in="hdr" header="Require:" check_it="true" assign_to="req"/>
      <ereg regexp="^ *1 *$" search_in="hdr" header="RSeq:" check_it="true" assign_to="rseq"/>
    </action>
  </recv>
  <Reference variables="req,rseq"/>
  <send retrans="500">
    <![CDATA[
      PRACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      Max-Forwards: 70
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 2 PRACK
      RAck: 1 1 INVITE
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      Max-Forwards: 70
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 1 ACK
      Content-Length: 0

    ]]>
  </send>
''' + UAC_BYE)
