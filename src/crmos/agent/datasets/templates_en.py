"""English intent templates: one bank for TRAINING, a separate bank for EVALUATION.

The two banks share no template and no slot value (products, companies, people, amounts ...),
and their openers and sign-offs differ, so the evaluation set measures how the model handles
phrasings it never saw. Each bank also has a hand-written core of whole messages.
"""

from __future__ import annotations

TRAIN: dict[str, list[str]] = {
    "renewal_interest": [
        "Our subscription for {product} expires on {date}. We'd like to renew for another year.",
        "Can you send me the renewal quote for our {product} licences?",
        "We are planning to extend our contract with you, what are the options for the renewal?",
        "Please prepare the paperwork to renew {product} for {n} seats.",
        "Is it possible to lock in the current rate if we renew early?",
        "Our agreement ends next month and the team wants to continue using {product}.",
        "We'd like to sign a multi-year renewal this time.",
        "Who should I talk to about renewing our {product} plan before {date}?",
        "I'd like to confirm we will renew; please send the updated order form.",
        "Let's go ahead with the renewal at the same terms as last year.",
        "We compared the renewal options on your site and prefer the two-year plan.",
        "The contract is up for renewal on {date}, can we get it signed this week?",
        "We want to keep {product} next year. How does the renewal work?",
    ],
    "churn_risk": [
        "Honestly we are evaluating other vendors and may not continue after {date}.",
        "We are thinking about cancelling {product} at the end of the term.",
        "{competitor} offered us a much better deal, so we may switch.",
        "Please tell me how to cancel our subscription.",
        "Usage has dropped a lot and management questions whether we still need {product}.",
        "We will not renew; please switch off auto-renewal on our contract.",
        "Our team barely logs in any more, we might let the contract expire.",
        "We're moving to {competitor} next quarter.",
        "What is the notice period if we want to terminate the contract?",
        "The budget for {product} was cut, so we may have to stop using it.",
        "I'm not sure we'll stay with you beyond this year.",
        "We've decided to close our account at the end of the month.",
    ],
    "complaint": [
        "I am very disappointed with the support we received last week.",
        "This is the third time {product} has crashed during our month-end close. Unacceptable.",
        "Your technician never showed up and nobody called us.",
        "The delivery arrived damaged and your team ignored my emails.",
        "I want to file a formal complaint about how my case was handled.",
        "Your agent was rude to me on the phone.",
        "We have been waiting {n} days for an answer to our ticket.",
        "The quality of the last shipment was terrible.",
        "Nobody takes responsibility and I keep being transferred.",
        "The new release broke our reports and nobody warned us.",
        "I'm extremely unhappy with the service and I expect an apology.",
        "Your product keeps failing and it is costing us money.",
    ],
    "data_deletion_request": [
        "Please delete all my personal data from your systems.",
        "I want my account and all associated data erased.",
        "Under GDPR Article 17, I request the erasure of my personal information.",
        "Remove my email address and phone number from your database.",
        "Please forget me and delete everything you have on me.",
        "I withdraw my consent and request that you delete my data.",
        "Close my account and wipe my data permanently.",
        "Kindly erase my customer profile and purchase history.",
        "I no longer want you to keep any of my information. Delete it.",
        "Request for deletion of personal data for the account {email}.",
    ],
    "data_access_request": [
        "Please send me a copy of all personal data you hold about me.",
        "Under GDPR Article 15 I request access to my data.",
        "What information do you store about me? I'd like an export.",
        "I want to download all the data associated with my account.",
        "Can you tell me which of my personal details you process and why?",
        "Please provide a data export for the account {email}.",
        "I'm making a subject access request for my records.",
        "Send me everything you have on file about me, including call recordings.",
    ],
    "pricing_question": [
        "How much does {product} cost per user per month?",
        "Can you send me your price list for {product}?",
        "What's the price difference between the Standard and Enterprise plans?",
        "Do you offer volume discounts for more than {n} seats?",
        "Is there a discount for annual payment?",
        "What would it cost to add {n} users to our plan?",
        "Could you give me a quote for {product}?",
        "Are there any setup fees or hidden costs?",
        "What is the pricing for the API add-on?",
        "Do you have special pricing for non-profits?",
    ],
    "technical_integration": [
        "How do we integrate {product} with our {system}?",
        "Is there a REST API for exporting orders?",
        "We need SSO with Azure AD, is SAML supported?",
        "Our webhook calls are failing with a 401 error.",
        "Where can I find the API documentation and rate limits?",
        "Can {product} sync data with {system} in real time?",
        "We want to connect our data warehouse via JDBC.",
        "What is the format of the webhook payload?",
        "Do you have an SDK for Python or Java?",
        "How do I configure the OAuth client credentials?",
    ],
    "expansion_signal": [
        "We're opening {n} new offices and will need more licences.",
        "Our team is growing; we need to add {n} more seats.",
        "We'd like to roll out {product} to the sales department as well.",
        "Can we upgrade to the Enterprise plan?",
        "We are interested in your analytics module on top of our current plan.",
        "Another business unit wants to start using {product}.",
        "We want to expand usage to our subsidiaries in Asia.",
        "Next quarter we will onboard {n} additional users onto {product}.",
    ],
    "meeting_request": [
        "Can we schedule a call next Tuesday to discuss the project?",
        "Are you available for a meeting on {date}?",
        "Let's set up a demo for my team sometime next week.",
        "Could you send a calendar invite for a 30-minute call?",
        "I'd like to meet in person when you're in {city}.",
        "Please book a workshop with our IT team.",
        "When would be a good time for a quick catch-up?",
    ],
    "payment_issue": [
        "We were charged twice for invoice {invoice}.",
        "Our payment failed, can you check what went wrong?",
        "The invoice amount is wrong, we were billed {amount} instead of the agreed price.",
        "Our credit card was declined; how else can we pay?",
        "We paid {amount} on {date} but the invoice still shows as unpaid.",
        "Please send a corrected invoice with our VAT number.",
        "Why did our bill go up this month?",
        "We need a refund for the duplicate charge.",
    ],
    "other": [
        "Thanks for your help yesterday!",
        "I'm out of the office until {date} with limited access to email.",
        "Happy new year to you and your team.",
        "Got it, thanks.",
        "Can you forward this to the right person?",
        "Just confirming I received the package.",
        "Congratulations on the product launch!",
        "Where is your office located?",
        "What are your support hours?",
        "Please find attached the agenda for reference.",
    ],
}

TRAIN_CORE: dict[str, list[str]] = {
    "renewal_interest": [
        "Hi, our finance team flagged that the annual licence runs out soon. We are happy with "
        "the product and would like to continue. Could you send the renewal order?",
        "Following our review, we decided to renew the maintenance contract for the machines.",
    ],
    "churn_risk": [
        "To be transparent, we have a meeting with a competitor next week. Unless something "
        "changes we will probably not continue.",
        "Our usage numbers are down and the board wants to save costs; your tool may be cut.",
    ],
    "complaint": [
        "The printer you replaced is broken again after two days. I have lost a whole day of "
        "production and I am really angry about it.",
        "Nobody answered the hotline for an hour. This is a terrible experience.",
    ],
    "data_deletion_request": [
        "I am no longer a customer. Please erase my personal data, including my address and "
        "my order history, and confirm in writing.",
    ],
    "data_access_request": [
        "As a data subject I would like a copy of the personal data you process about me and "
        "the purposes of processing.",
    ],
    "pricing_question": [
        "Before we go to procurement, can you tell me the list price and what discount is "
        "usual for a company of our size?",
    ],
    "technical_integration": [
        "Our IT team wants to connect the ERP to your platform. Do you support webhooks and "
        "is there a sandbox environment?",
    ],
    "expansion_signal": [
        "The pilot in Shanghai went well, so we want to extend the solution to our other "
        "three factories.",
    ],
    "meeting_request": [
        "Could we get together on Friday to go through the proposal? Any time after 2pm works.",
    ],
    "payment_issue": [
        "The direct debit for March failed and now the account is blocked. Please help us "
        "settle the payment.",
    ],
    "other": ["Thank you, that answers my question. Have a nice weekend."],
}

EVAL: dict[str, list[str]] = {
    "renewal_interest": [
        "Heads up: our licence term finishes {date} and we intend to keep going with {product}. "
        "What do you need from us to extend?",
        "Could you draft an extension of our current agreement for twelve more months?",
        "Management approved continuing with {product} next year, please start the renewal.",
        "Before our plan lapses I want to re-up it. Same number of users.",
        "Send over the documents so we can prolong the service contract past {date}.",
        "We're keen to stay on for another term; what would the renewal look like?",
        "Please renew our {product} subscription, it's budgeted already.",
        "Let's renew. Can the new term start right when the old one ends on {date}?",
    ],
    "churn_risk": [
        "Our CFO asked me to find cheaper alternatives to {product}; {competitor} is on the "
        "shortlist.",
        "Please note we intend to discontinue the service once the current term is over.",
        "Frankly, the value isn't there for us anymore and we're considering leaving.",
        "How do we terminate early, and what would it cost us?",
        "We've started a pilot with {competitor} and will decide by {date} whether to move.",
        "Do not renew us. We're winding down our use of the platform.",
        "Leadership wants to consolidate tools, and {product} will likely be dropped.",
        "Nobody on the team has opened {product} in weeks; I doubt we will keep it.",
    ],
    "complaint": [
        "Ticket {n} has been open for two weeks with zero progress. This is not the service "
        "we pay for.",
        "I'd like to escalate: the onsite engineer left the machine in a worse state than before.",
        "Every time I call I get a different answer. This is ridiculous.",
        "The outage yesterday wasn't communicated at all and our customers were furious.",
        "Registering a complaint: the parts we received are faulty and support ignored us.",
        "Frankly your support staff were dismissive and unhelpful.",
        "Your app logged us out all day and support closed the ticket without solving it.",
        "I'm fed up, the same bug has come back after you said it was fixed.",
    ],
    "data_deletion_request": [
        "Exercising my right to be forgotten: purge every record tied to {email}.",
        "Could you make sure none of my details stay on file? I want them destroyed.",
        "Please get rid of my contact details and any recordings of my calls.",
        "I demand the removal of all information about me that your company stores.",
        "Once the contract ends, scrub my personal data from every system, backups included.",
        "Delete my profile, my chat history and my address. Confirm when done.",
        "This is a formal erasure request concerning the data you hold on me.",
    ],
    "data_access_request": [
        "Which records about me do you keep, and who have you shared them with?",
        "I'd like to see the personal information your company has collected on me.",
        "Kindly provide me a machine-readable copy of my customer data.",
        "Under the CCPA, I want to know what personal information you've gathered about me.",
        "Could I obtain a full report of the data linked to {email}?",
        "Please disclose what data you process about me and for what purposes.",
    ],
    "pricing_question": [
        "Ballpark figure: what would {n} licences of {product} run us per year?",
        "I need a cost estimate for the premium tier before our budget meeting.",
        "Does the quoted rate include support, or is that billed separately?",
        "What are your rates for the analytics module?",
        "We're comparing vendors, could you share your list prices?",
        "How much is the per-seat fee for {product} if we pay monthly?",
    ],
    "technical_integration": [
        "Our developers want to push events from {system} into your platform, which endpoint "
        "should they call?",
        "Is there a connector for {system}, or do we build it against your API?",
        "The integration returns HTTP 500 when the payload exceeds 1 MB; is that a documented "
        "limit?",
        "We need to set up single sign-on via Okta. What are the steps?",
        "Does your API support pagination and incremental sync?",
        "Which authentication methods can a server-to-server integration use?",
    ],
    "expansion_signal": [
        "Great news: after the pilot the whole company wants access to {product}.",
        "Our European branch is interested in joining the account.",
        "We hired {n} engineers this quarter and they will all need accounts.",
        "We'd like to add the forecasting add-on to our subscription.",
        "Could we move up to the premium tier now that usage has doubled?",
        "The operations team saw the demo and wants their own workspace too.",
    ],
    "meeting_request": [
        "Would Thursday afternoon work for a video call?",
        "Let's find a slot to walk through the proposal together.",
        "Can your solutions engineer join us on {date} for a session?",
        "I'd appreciate a short call to align on next steps. What's your availability?",
        "Please arrange a visit to our plant in {city} next month.",
        "Could we get 45 minutes on the calendar with your product manager?",
    ],
    "payment_issue": [
        "Invoice {invoice} lists {n} seats but we only have ten, please fix the billing.",
        "The bank transfer bounced back; can you confirm your account details?",
        "We're being asked to pay a late fee although we settled the balance on {date}.",
        "Your system debited our account {amount} without any notice.",
        "Accounts payable can't process the invoice because the PO number is missing.",
        "I see two identical charges on our statement; one needs to be reversed.",
    ],
    "other": [
        "Appreciate the quick turnaround, have a great weekend.",
        "Automatic reply: I am on leave and will respond when I return.",
        "Noted, I'll share this with my colleagues.",
        "Do you have parking at your headquarters?",
        "Season's greetings from all of us at {company}.",
        "See attached the minutes from today; no action needed.",
    ],
}

EVAL_CORE: dict[str, list[str]] = {
    "renewal_interest": [
        "We got the reminder that the service period is nearly over. Count us in for another "
        "year, and let me know if the price changes.",
    ],
    "churn_risk": [
        "After the last quarter's results we're reviewing every vendor. To be honest your "
        "solution is at risk and we may walk away in spring.",
    ],
    "complaint": [
        "I have now spent three hours on hold over two days. Your service has become awful "
        "and I expect someone senior to call me back.",
    ],
    "data_deletion_request": [
        "I closed my store account last month. Please permanently remove my name, phone and "
        "delivery addresses from your records.",
    ],
    "data_access_request": [
        "For my own records, please tell me what customer data you hold on me and send it in "
        "a common file format.",
    ],
    "pricing_question": [
        "We have a budget of about fifty thousand for next year. What price could you offer "
        "for the standard package?",
    ],
    "technical_integration": [
        "The sync job to our CRM stops after the first page of results. Is there a cursor "
        "parameter in the API we should pass?",
    ],
    "expansion_signal": [
        "We acquired a competitor and want to bring their two hundred staff onto our account.",
    ],
    "meeting_request": [
        "Our CEO will be in town next week and would like to meet your team. Does Wednesday "
        "morning suit you?",
    ],
    "payment_issue": [
        "We transferred the money two weeks ago but your reminder says the invoice is overdue. "
        "Please check your records.",
    ],
    "other": ["Many thanks for the update. Nothing further from our side for now."],
}

SLOTS_TRAIN: dict[str, list[str]] = {
    "product": ["CloudDesk", "DataHub Pro", "SmartERP", "Nimbus CRM", "Atlas Analytics"],
    "competitor": ["Salesforce", "HubSpot", "Zoho", "Pipedrive"],
    "company": ["Acme Corp", "Globex Ltd", "Initech", "Umbrella GmbH"],
    "name": ["John", "Sarah", "Michael", "Emma", "David"],
    "date": ["March 31", "30 June 2025", "the end of September", "2025-12-31", "next Friday"],
    "n": ["5", "12", "20", "50", "150"],
    "amount": ["$4,800", "USD 12,000", "EUR 950", "$1,200"],
    "invoice": ["INV-2024-0412", "INV-88231", "#10293"],
    "system": ["SAP", "Salesforce", "Oracle NetSuite", "Shopify"],
    "city": ["London", "Berlin", "New York", "Singapore"],
    "email": ["john.doe@example.com", "s.lee@mail.com", "mike@initech.io"],
}

SLOTS_EVAL: dict[str, list[str]] = {
    "product": ["FlowSuite", "InsightX", "OrbitPOS", "Helix Platform"],
    "competitor": ["Microsoft Dynamics", "Freshworks", "Zendesk"],
    "company": ["Stark Industries", "Wayne Enterprises", "Soylent Inc"],
    "name": ["Priya", "Tom", "Lucia", "Ahmed"],
    "date": ["April 15", "1 October 2026", "the 20th", "2026-08-01"],
    "n": ["7", "35", "80", "300"],
    "amount": ["$2,350", "GBP 640", "USD 7,500"],
    "invoice": ["INV-2026-1177", "B-55012"],
    "system": ["Microsoft Dynamics", "Workday", "Magento", "Odoo"],
    "city": ["Paris", "Toronto", "Sydney"],
    "email": ["priya.k@outlook.com", "tom.b@stark.example"],
}

OPENERS_TRAIN = ["Hi {name},", "Hello team,", "Dear {name},", "Good morning,", "", "", ""]
CLOSERS_TRAIN = ["Thanks, {name}", "Best regards", "Cheers", "", "", ""]
OPENERS_EVAL = ["Hey,", "Hi there,", "To whom it may concern,", "Morning {name},", "", "", ""]
CLOSERS_EVAL = ["Kind regards, {name}", "Thank you in advance.", "Sent from my phone", "", ""]
